// The per-layer arithmetic's exports (src/sae/load.ts, src/sae/fold.ts and src/io/safetensors.ts call
// them): scanValues, buildFeatures, foldThreshold, halfToFloat, rowNorms, transpose, scaleMatrix.
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

// buildFeatures({W_enc, W_dec, b_enc, threshold (or null), dModel, dOut?, dSae, dec, enc, biasWeight,
//                fold, out, threads}, token) -> {dim}     (dOut: the decoder's width, dModel when absent)
class FeaturesWorker : public PromiseWorker {
 public:
  explicit FeaturesWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "buildFeatures", this);
    W_enc = a.f32s("W_enc");
    W_dec = a.f32s("W_dec");
    b_enc = a.f32s("b_enc");
    if (a.has("threshold")) threshold = a.f32s("threshold");
    d_model = a.i64("dModel");
    d_out = a.has("dOut") ? a.i64("dOut") : d_model;
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
    buildFeatures(W_enc, W_dec, b_enc, threshold, d_model, d_out, d_sae, parts, out, threads);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("dim", static_cast<double>(featureDim(d_model, d_out, parts)));
    return o;
  }

 private:
  const float *W_enc = nullptr, *W_dec = nullptr, *b_enc = nullptr, *threshold = nullptr;
  float* out = nullptr;
  int64_t d_model = 0, d_out = 0, d_sae = 0;
  FeatureParts parts;
  int threads = 0;
};

// foldThreshold({W_enc, W_dec, b_enc, threshold, dModel, dOut?, dSae, outWenc, outWdec, outBenc,
//                threads}, token) -> undefined
class FoldWorker : public PromiseWorker {
 public:
  explicit FoldWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "foldThreshold", this);
    W_enc = a.f32s("W_enc");
    W_dec = a.f32s("W_dec");
    b_enc = a.f32s("b_enc");
    threshold = a.f32s("threshold");
    d_model = a.i64("dModel");
    d_out = a.has("dOut") ? a.i64("dOut") : d_model;
    d_sae = a.i64("dSae");
    oe = a.f32out("outWenc");
    od = a.f32out("outWdec");
    ob = a.f32out("outBenc");
    threads = a.i32("threads");
  }
  void Run() override { foldThreshold(W_enc, W_dec, b_enc, threshold, d_model, d_out, d_sae, oe, od, ob, threads); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  const float *W_enc = nullptr, *W_dec = nullptr, *b_enc = nullptr, *threshold = nullptr;
  float *oe = nullptr, *od = nullptr, *ob = nullptr;
  int64_t d_model = 0, d_out = 0, d_sae = 0;
  int threads = 0;
};

// rowNorms({x (Float32Array), rows, cols, out (Float64Array), threads}, token) -> undefined
class RowNormsWorker : public PromiseWorker {
 public:
  explicit RowNormsWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "rowNorms", this);
    x = a.f32s("x");
    rows = a.i64("rows");
    cols = a.i64("cols");
    out = a.data<double>("out", napi_float64_array);
    threads = a.i32("threads");
  }
  void Run() override { rowNorms(x, rows, cols, out, threads); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  const float* x = nullptr;
  double* out = nullptr;
  int64_t rows = 0, cols = 0;
  int threads = 0;
};

// transpose({src (Float32Array), rows, cols, out (Float32Array [cols, rows]), threads}, token) -> undefined
class TransposeWorker : public PromiseWorker {
 public:
  explicit TransposeWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "transpose", this);
    src = a.f32s("src");
    rows = a.i64("rows");
    cols = a.i64("cols");
    out = a.f32out("out");
    threads = a.i32("threads");
  }
  void Run() override { transpose(src, rows, cols, out, threads); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  const float* src = nullptr;
  float* out = nullptr;
  int64_t rows = 0, cols = 0;
  int threads = 0;
};

// scaleMatrix({x (Float32Array, scaled in place), rows, cols, rowScale?, colScale? (Float64Array),
//              scalar, threads}, token) -> undefined
class ScaleWorker : public PromiseWorker {
 public:
  explicit ScaleWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "scaleMatrix", this);
    x = a.f32out("x");
    rows = a.i64("rows");
    cols = a.i64("cols");
    if (a.has("rowScale")) row_scale = a.f64s("rowScale");
    if (a.has("colScale")) col_scale = a.f64s("colScale");
    scalar = a.f64("scalar");
    threads = a.i32("threads");
  }
  void Run() override { scaleMatrix(x, rows, cols, row_scale, col_scale, scalar, threads); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  float* x = nullptr;
  const double *row_scale = nullptr, *col_scale = nullptr;
  double scalar = 1;
  int64_t rows = 0, cols = 0;
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
  exports.Set("rowNorms", Napi::Function::New(env, queue<RowNormsWorker>));
  exports.Set("transpose", Napi::Function::New(env, queue<TransposeWorker>));
  exports.Set("scaleMatrix", Napi::Function::New(env, queue<ScaleWorker>));
}

}  // namespace saematch::binding
