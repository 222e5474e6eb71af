// The per-layer arithmetic's exports (src/sae/load.ts, src/sae/fold.ts and src/io/safetensors.ts call
// them): scanValues, buildFeatures, foldThreshold, halfToFloat.
#include "../core/sae/fold.hpp"
#include "args.hpp"
#include "register.hpp"
#include "worker.hpp"

namespace saematch::binding {
namespace {

// scanValues({x (Float32Array), threads}, token)
//   -> {nonFinite, firstNonFinite, nonPositive, firstNonPositive, min, max}
class ScanWorker : public PromiseWorker {
 public:
  explicit ScanWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "scanValues", this);
    x = a.f32s("x");
    n = static_cast<int64_t>(a.length("x"));
    threads = a.i32("threads");
  }
  void Run() override { s = scanValues(x, n, threads); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("nonFinite", static_cast<double>(s.non_finite));
    o.Set("firstNonFinite", static_cast<double>(s.first_non_finite));
    o.Set("nonPositive", static_cast<double>(s.non_positive));
    o.Set("firstNonPositive", static_cast<double>(s.first_non_positive));
    o.Set("min", s.min);
    o.Set("max", s.max);
    return o;
  }

 private:
  const float* x = nullptr;
  int64_t n = 0;
  int threads = 0;
  ValueScan s;
};

// buildFeatures({W_enc, W_dec, b_enc, threshold (or null), dModel, dSae, dec, enc, biasWeight, fold,
//                out, threads}, token) -> {dim}
class FeaturesWorker : public PromiseWorker {
 public:
  explicit FeaturesWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "buildFeatures", this);
    W_enc = a.f32s("W_enc");
    W_dec = a.f32s("W_dec");
    b_enc = a.f32s("b_enc");
    if (a.has("threshold")) threshold = a.f32s("threshold");
    d_model = a.i64("dModel");
    d_sae = a.i64("dSae");
    parts.dec = a.flag("dec");
    parts.enc = a.flag("enc");
    parts.bias_weight = static_cast<float>(a.f64("biasWeight"));
    parts.fold = a.flag("fold");
    out = a.f32out("out");
    threads = a.i32("threads");
  }
  void Run() override {
    if (parts.fold && !threshold) throw InputError("folding needs the threshold");
    buildFeatures(W_enc, W_dec, b_enc, threshold, d_model, d_sae, parts, out, threads);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("dim", static_cast<double>(featureDim(d_model, parts)));
    return o;
  }

 private:
  const float *W_enc = nullptr, *W_dec = nullptr, *b_enc = nullptr, *threshold = nullptr;
  float* out = nullptr;
  int64_t d_model = 0, d_sae = 0;
  FeatureParts parts;
  int threads = 0;
};

// foldThreshold({W_enc, W_dec, b_enc, threshold, dModel, dSae, outWenc, outWdec, outBenc, threads},
//               token) -> undefined
class FoldWorker : public PromiseWorker {
 public:
  explicit FoldWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "foldThreshold", this);
    W_enc = a.f32s("W_enc");
    W_dec = a.f32s("W_dec");
    b_enc = a.f32s("b_enc");
    threshold = a.f32s("threshold");
    d_model = a.i64("dModel");
    d_sae = a.i64("dSae");
    oe = a.f32out("outWenc");
    od = a.f32out("outWdec");
    ob = a.f32out("outBenc");
    threads = a.i32("threads");
  }
  void Run() override { foldThreshold(W_enc, W_dec, b_enc, threshold, d_model, d_sae, oe, od, ob, threads); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  const float *W_enc = nullptr, *W_dec = nullptr, *b_enc = nullptr, *threshold = nullptr;
  float *oe = nullptr, *od = nullptr, *ob = nullptr;
  int64_t d_model = 0, d_sae = 0;
  int threads = 0;
};

// halfToFloat({src (Uint16Array of F16 or BF16 bits), bfloat16, out (Float32Array), threads}, token)
//   -> undefined
class HalfWorker : public PromiseWorker {
 public:
  explicit HalfWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "halfToFloat", this);
    src = a.data<const uint16_t>("src", napi_uint16_array);
    n = static_cast<int64_t>(a.length("src"));
    bf16 = a.flag("bfloat16");
    dst = a.f32out("out");
    threads = a.i32("threads");
  }
  void Run() override { halfToFloat(src, n, bf16, dst, threads); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  const uint16_t* src = nullptr;
  float* dst = nullptr;
  int64_t n = 0;
  bool bf16 = false;
  int threads = 0;
};

}  // namespace

void registerSae(Napi::Env env, Napi::Object exports) {
  exports.Set("scanValues", Napi::Function::New(env, queue<ScanWorker>));
  exports.Set("buildFeatures", Napi::Function::New(env, queue<FeaturesWorker>));
  exports.Set("foldThreshold", Napi::Function::New(env, queue<FoldWorker>));
  exports.Set("halfToFloat", Napi::Function::New(env, queue<HalfWorker>));
}

}  // namespace saematch::binding
