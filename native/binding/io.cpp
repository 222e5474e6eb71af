// File reading's exports (src/io/read.ts and src/io/buffers.ts call them): readRange, crc32,
// crc32Combine, allocLarge.
#include <string>

#include "../core/io/fileio.hpp"
#include "args.hpp"
#include "register.hpp"
#include "worker.hpp"

namespace saematch::binding {
namespace {

// readRange({path, offset, length, dst (any typed array, as bytes), threads, crc}, token)
//   -> {bytesRead, crc32, seconds}
class ReadWorker : public PromiseWorker {
 public:
  explicit ReadWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "readRange", this);
    path = a.str("path");
    offset = static_cast<uint64_t>(a.i64("offset"));
    length = static_cast<uint64_t>(a.i64("length"));
    dst = Args::bytesOf<uint8_t>(a.typed("dst"));
    threads = a.i32("threads");
    crc = a.flag("crc");
  }
  void Run() override { result = readRange(path, offset, length, dst, threads, crc, cancel.get()); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytesRead", static_cast<double>(result.bytes_read));
    o.Set("crc32", static_cast<double>(result.crc32));
    o.Set("seconds", result.seconds);
    return o;
  }

 private:
  std::string path;
  uint64_t offset = 0, length = 0;
  uint8_t* dst = nullptr;
  int threads = 0;
  bool crc = false;
  ReadResult result;
};

// allocLarge({bytes}) -> ArrayBuffer backed by huge-page-advised anonymous memory, freed by the GC.
Napi::Value AllocLarge(const Napi::CallbackInfo& info) {
  Args a(info, "allocLarge");
  size_t bytes = static_cast<size_t>(a.i64("bytes"));
  // Node 20's napi_create_external_arraybuffer fails above 4 GiB, and node-addon-api then frees its
  // finaliser data a second time (a crash): refuse here, the caller allocates such buffers in V8.
  if (bytes > (size_t{1} << 32)) {
    Napi::Error e = Napi::Error::New(info.Env(), "allocLarge: " + std::to_string(bytes) + " bytes is over the 4 GiB an external buffer may hold");
    e.Set("code", "ERR_SAE_MATCH_INTERNAL");
    throw e;
  }
  void* p;
  try {
    p = allocLarge(bytes);
  } catch (const std::bad_alloc&) {
    Napi::Error e = Napi::Error::New(info.Env(), "cannot allocate " + std::to_string(bytes) + " bytes");
    e.Set("code", "ERR_SAE_MATCH_INTERNAL");
    throw e;
  }
  return Napi::ArrayBuffer::New(info.Env(), p, bytes,
                                [bytes](Napi::Env, void* data) { freeLarge(data, bytes); });
}

// releaseLarge({buffer}): detaches an ArrayBuffer from allocLarge, so its memory goes back to the
// system now (V8 drops the backing store, whose deleter unmaps it) rather than at some later garbage
// collection, which external memory does not prompt. Every view of it then has length 0.
Napi::Value ReleaseLarge(const Napi::CallbackInfo& info) {
  Napi::Object o = info[0].As<Napi::Object>();
  Napi::Value v = o.Get("buffer");
  if (!v.IsArrayBuffer()) throw Napi::TypeError::New(info.Env(), "releaseLarge: option 'buffer' must be an ArrayBuffer");
  napi_status st = napi_detach_arraybuffer(info.Env(), v);
  if (st != napi_ok) throw Napi::Error::New(info.Env(), "releaseLarge: the buffer cannot be detached");
  return info.Env().Undefined();
}

// crc32({bytes (any typed array), crc}) -> number: for small buffers (inflated stream chunks); large
// reads compute their CRC in readRange.
Napi::Value Crc32(const Napi::CallbackInfo& info) {
  Args a(info, "crc32");
  Napi::TypedArray t = a.typed("bytes");
  uint32_t c = static_cast<uint32_t>(a.i64("crc"));
  return Napi::Number::New(info.Env(), crc32Update(c, Args::bytesOf<const uint8_t>(t), t.ByteLength()));
}

// crc32Combine({crcA, crcB, lengthB}) -> number: CRC of A||B (zlib's crc32_combine).
Napi::Value Crc32Combine(const Napi::CallbackInfo& info) {
  Args a(info, "crc32Combine");
  auto u32 = [&](const char* k) { return static_cast<uint32_t>(a.i64(k)); };
  return Napi::Number::New(info.Env(), crc32Combine(u32("crcA"), u32("crcB"), static_cast<uint64_t>(a.i64("lengthB"))));
}

}  // namespace

void registerIo(Napi::Env env, Napi::Object exports) {
  exports.Set("readRange", Napi::Function::New(env, queue<ReadWorker>));
  exports.Set("allocLarge", Napi::Function::New(env, AllocLarge));
  exports.Set("releaseLarge", Napi::Function::New(env, ReleaseLarge));
  exports.Set("crc32", Napi::Function::New(env, Crc32));
  exports.Set("crc32Combine", Napi::Function::New(env, Crc32Combine));
}

}  // namespace saematch::binding
