// What crosses the binding: a call's options object read by name (sharp's AttrAs* in the same role),
// and results handed back as typed arrays. The TypeScript side (src/binding/addon.ts and the modules
// that call it) validated every value, so a field here is only converted; a field that is missing or
// of the wrong type is a bug in that code and becomes a TypeError naming the call and the field.
#pragma once

#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "worker.hpp"

namespace saematch::binding {

class Args {
 public:
  // The options object is info[0]. Typed arrays read through a worker are kept alive by it for the
  // duration of the call; synchronous calls pass no worker.
  Args(const Napi::CallbackInfo& info, const char* call, PromiseWorker* worker = nullptr)
      : env_(info.Env()), call_(call), worker_(worker) {
    if (!info[0].IsObject()) throw Napi::TypeError::New(env_, std::string(call) + ": expected an options object");
    o_ = info[0].As<Napi::Object>();
  }
  // A nested options object, e.g. one field of the call's options (`call` then names both).
  Args(Napi::Object o, const char* call, PromiseWorker* worker = nullptr)
      : env_(o.Env()), call_(call), worker_(worker), o_(o) {}

  // Present and neither undefined nor null.
  bool has(const char* k) const {
    Napi::Value v = o_.Get(k);
    return !v.IsUndefined() && !v.IsNull();
  }
  int64_t i64(const char* k) const { return number(k).Int64Value(); }
  int32_t i32(const char* k) const { return number(k).Int32Value(); }
  double f64(const char* k) const { return number(k).DoubleValue(); }
  bool flag(const char* k) const {
    Napi::Value v = o_.Get(k);
    if (!v.IsBoolean()) fail(k, "a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  std::string str(const char* k) const {
    Napi::Value v = o_.Get(k);
    if (!v.IsString()) fail(k, "a string");
    return v.As<Napi::String>().Utf8Value();
  }
  Napi::Object object(const char* k) const {
    Napi::Value v = o_.Get(k);
    if (!v.IsObject()) fail(k, "an object");
    return v.As<Napi::Object>();
  }
  // Any typed array, kept alive by the worker.
  Napi::TypedArray typed(const char* k) const {
    Napi::TypedArray a = peek(k);
    if (worker_) worker_->keep(a);
    return a;
  }
  // Elements of a typed array (not kept: pair it with data()).
  size_t length(const char* k) const { return peek(k).ElementLength(); }
  // The data of a typed array of element type `type` (what is kept alive: see typed()).
  template <typename T>
  T* data(const char* k, napi_typedarray_type type) const {
    Napi::TypedArray a = typed(k);
    if (a.TypedArrayType() != type) fail(k, typeName(type));
    return bytesOf<T>(a);
  }
  const float* f32s(const char* k) const { return data<const float>(k, napi_float32_array); }
  float* f32out(const char* k) const { return data<float>(k, napi_float32_array); }
  const int32_t* i32s(const char* k) const { return data<const int32_t>(k, napi_int32_array); }
  int32_t* i32out(const char* k) const { return data<int32_t>(k, napi_int32_array); }
  const double* f64s(const char* k) const { return data<const double>(k, napi_float64_array); }

  // The bytes of any typed array.
  template <typename T>
  static T* bytesOf(const Napi::TypedArray& a) {
    return reinterpret_cast<T*>(static_cast<uint8_t*>(a.ArrayBuffer().Data()) + a.ByteOffset());
  }

 private:
  Napi::TypedArray peek(const char* k) const {
    Napi::Value v = o_.Get(k);
    if (!v.IsTypedArray()) fail(k, "a typed array");
    return v.As<Napi::TypedArray>();
  }
  Napi::Number number(const char* k) const {
    Napi::Value v = o_.Get(k);
    if (!v.IsNumber()) fail(k, "a number");
    return v.As<Napi::Number>();
  }
  static const char* typeName(napi_typedarray_type t) {
    switch (t) {
      case napi_float32_array: return "a Float32Array";
      case napi_float64_array: return "a Float64Array";
      case napi_int32_array: return "an Int32Array";
      case napi_uint16_array: return "a Uint16Array";
      case napi_uint8_array: return "a Uint8Array";
      default: return "a typed array of another type";
    }
  }
  [[noreturn]] void fail(const char* k, const char* what) const {
    throw Napi::TypeError::New(env_, std::string(call_) + ": option '" + k + "' must be " + what);
  }

  Napi::Env env_;
  const char* call_;
  PromiseWorker* worker_;
  Napi::Object o_;
};

// Any std::vector of T, whatever its allocator (the sparse method's lists are LargeVectors).
template <typename T, typename Alloc>
Napi::TypedArrayOf<T> toTyped(Napi::Env env, const std::vector<T, Alloc>& src) {
  auto arr = Napi::TypedArrayOf<T>::New(env, src.size());
  std::copy(src.begin(), src.end(), arr.Data());
  return arr;
}

}  // namespace saematch::binding
