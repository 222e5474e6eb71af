// Node-API binding: the only file that knows about JavaScript. Inputs arrive already validated by the
// TypeScript layer (src/binding/addon.ts and its callers); this file moves pointers into AsyncWorkers so no heavy work runs
// on the event loop, and turns C++ exceptions into rejected Promises with stable error codes.
#include <napi.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

#include "../core/cost/cost.hpp"
#include "../core/cost/topk.hpp"
#include "../core/eval/eval.hpp"
#include "../core/io/fileio.hpp"
#include "../core/lap/lap.hpp"
#include "../core/parallel.hpp"
#include "../core/sae/fold.hpp"
#include "../core/simd.hpp"
#include "../cuda/device.hpp"
#include "../cuda/gpu.hpp"
#include "worker.hpp"

namespace {

using namespace saematch;
using namespace saematch::binding;

template <typename T>
Napi::TypedArrayOf<T> toTyped(Napi::Env env, const std::vector<T>& src) {
  auto arr = Napi::TypedArrayOf<T>::New(env, src.size());
  std::copy(src.begin(), src.end(), arr.Data());
  return arr;
}

Napi::Object statsObject(Napi::Env env, const LapStats& s) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("freeAfterColumnReduction", static_cast<double>(s.free_after_column_reduction));
  o.Set("freeAfterArr", static_cast<double>(s.free_after_arr));
  o.Set("arrRowScans", static_cast<double>(s.arr_row_scans));
  o.Set("augmentations", static_cast<double>(s.augmentations));
  o.Set("dijkstraSteps", static_cast<double>(s.dijkstra_steps));
  o.Set("secondsInit", s.seconds_init);
  o.Set("secondsAugment", s.seconds_augment);
  o.Set("parallelRounds", static_cast<double>(s.parallel_rounds));
  o.Set("warmStartRejected", static_cast<double>(s.warm_start_rejected));
  return o;
}

// A WarmStart as JS: {infeasible, rowToCol?, colToRow?, v?, stats}.
Napi::Object warmStartObject(Napi::Env env, const WarmStart& ws) {
  Napi::Object w = Napi::Object::New(env);
  w.Set("infeasible", ws.infeasible);
  if (!ws.infeasible) {
    w.Set("rowToCol", toTyped<int32_t>(env, ws.x));
    w.Set("colToRow", toTyped<int32_t>(env, ws.y));
    w.Set("v", toTyped<double>(env, ws.v));
  }
  w.Set("stats", statsObject(env, ws.stats));
  return w;
}

// solveAssignment(cost, nRows, nCols, maximize, token, parallelRounds) -> Promise<result>
// parallelRounds >= 0 (square float32, minimise): the CUDA solver's data-parallel initialisation run
// on the host (parallelInitReference) with that many bidding rounds, then phase 4 from its warm start.
class SolveWorker : public PromiseWorker {
 public:
  SolveWorker(Napi::Env env, Napi::TypedArray cost, int64_t nr, int64_t nc, bool maximize,
              std::shared_ptr<std::atomic<bool>> cancel, int parallelRounds)
      : PromiseWorker(env, std::move(cancel)), nr(nr), nc(nc), maximize(maximize), rounds(parallelRounds) {
    keep(cost);
    isDouble = cost.TypedArrayType() == napi_float64_array;
    data = static_cast<uint8_t*>(cost.ArrayBuffer().Data()) + cost.ByteOffset();
  }
  // A warm start given by the caller (solveAssignment's `warmStart` option): copied here, checked by
  // solveFromWarmStart.
  void setWarmStart(Napi::Object w) {
    auto i32 = [&](const char* k) {
      auto t = w.Get(k).As<Napi::TypedArrayOf<int32_t>>();
      return std::vector<int32_t>(t.Data(), t.Data() + t.ElementLength());
    };
    auto f64 = w.Get("v").As<Napi::TypedArrayOf<double>>();
    warm = WarmStart{};
    warm->x = i32("rowToCol");
    warm->y = i32("colToRow");
    warm->v.assign(f64.Data(), f64.Data() + f64.ElementLength());
  }
  void Run() override {
    if (warm) {
      if (isDouble || maximize || nr != nc) throw InputError("a warm start takes square float32 matrices, minimised");
      result = solveFromWarmStart(reinterpret_cast<const float*>(data), nr, std::move(*warm), cancel.get());
      return;
    }
    if (rounds >= 0) {
      if (isDouble || maximize || nr != nc)
        throw InputError("the parallel initialisation takes square float32 matrices, minimised");
      result = solveWithParallelInit(reinterpret_cast<const float*>(data), nr, rounds, cancel.get());
      return;
    }
    result = isDouble ? solveAssignment(reinterpret_cast<const double*>(data), nr, nc, maximize,
                                        cancel.get())
                      : solveAssignment(reinterpret_cast<const float*>(data), nr, nc, maximize,
                                        cancel.get());
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("feasible", result.feasible);
    if (result.feasible) {
      o.Set("rowToCol", toTyped<int32_t>(env, result.x));
      o.Set("colToRow", toTyped<int32_t>(env, result.y));
      o.Set("u", toTyped<double>(env, result.u));
      o.Set("v", toTyped<double>(env, result.v));
      o.Set("totalCost", result.total);
    }
    o.Set("stats", statsObject(env, result.stats));
    return o;
  }

 private:
  int64_t nr, nc;
  bool maximize, isDouble = false;
  int rounds = -1;
  std::optional<WarmStart> warm;
  const uint8_t* data = nullptr;
  LapResult result;
};

// checkCertificate(cost, nRows, nCols, maximize, rowToCol, u, v, tol, token) -> Promise<cert>
class CertificateWorker : public PromiseWorker {
 public:
  CertificateWorker(Napi::Env env, const Napi::CallbackInfo& info)
      : PromiseWorker(env, tokenFlag(info[8])) {
    auto cost = info[0].As<Napi::TypedArray>();
    for (int k : {0, 4, 5, 6}) keep(info[k]);
    isDouble = cost.TypedArrayType() == napi_float64_array;
    data = static_cast<uint8_t*>(cost.ArrayBuffer().Data()) + cost.ByteOffset();
    nr = info[1].As<Napi::Number>().Int64Value();
    nc = info[2].As<Napi::Number>().Int64Value();
    maximize = info[3].As<Napi::Boolean>().Value();
    x = info[4].As<Napi::Int32Array>().Data();
    u = info[5].As<Napi::Float64Array>().Data();
    v = info[6].As<Napi::Float64Array>().Data();
    tol = info[7].As<Napi::Number>().DoubleValue();
  }
  void Run() override {
    cert = isDouble ? checkCertificate(reinterpret_cast<const double*>(data), nr, nc, maximize, x, u,
                                       v, tol)
                    : checkCertificate(reinterpret_cast<const float*>(data), nr, nc, maximize, x, u,
                                       v, tol);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("ok", cert.ok);
    o.Set("assignmentValid", cert.assignment_valid);
    o.Set("maxViolation", cert.max_violation);
    o.Set("minReducedCost", cert.min_reduced_cost);
    o.Set("maxAssignedGap", cert.max_assigned_gap);
    o.Set("tolerance", cert.tolerance);
    o.Set("message", cert.message);
    return o;
  }

 private:
  bool isDouble = false, maximize = false;
  const uint8_t* data = nullptr;
  int64_t nr = 0, nc = 0;
  const int32_t* x = nullptr;
  const double *u = nullptr, *v = nullptr;
  double tol = 0;
  Certificate cert;
};

// Arguments 0-4 of the cost ops: a, nA, b, nB, k (two row-major float32 feature matrices).
void readFeaturePair(const Napi::CallbackInfo& info, const float*& a, int64_t& na, const float*& b, int64_t& nb,
                     int64_t& k) {
  a = info[0].As<Napi::Float32Array>().Data();
  na = info[1].As<Napi::Number>().Int64Value();
  b = info[2].As<Napi::Float32Array>().Data();
  nb = info[3].As<Napi::Number>().Int64Value();
  k = info[4].As<Napi::Number>().Int64Value();
}

// costMatrix(a, nA, b, nB, k, metric, kernel, threads, out, token) -> Promise<info>
class CostWorker : public PromiseWorker {
 public:
  CostWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[9])) {
    for (int k : {0, 2, 8}) keep(info[k]);
    readFeaturePair(info, a, na, b, nb, k);
    metric = info[5].As<Napi::String>().Utf8Value() == "cosine" ? CostMetric::Cosine
                                                                : CostMetric::SquaredEuclidean;
    std::string kn = info[6].As<Napi::String>().Utf8Value();
    kernel = kn == "blas" ? GemmKernel::Blas : kn == "builtin" ? GemmKernel::Builtin : GemmKernel::Auto;
    threads = info[7].As<Napi::Number>().Int32Value();
    out = info[8].As<Napi::Float32Array>().Data();
  }
  void Run() override { result = costMatrix(a, na, b, nb, k, metric, kernel, threads, out, cancel.get()); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("kernel", result.kernel);
    o.Set("threads", result.threads);
    o.Set("seconds", result.seconds);
    return o;
  }

 private:
  const float *a = nullptr, *b = nullptr;
  float* out = nullptr;
  int64_t na = 0, nb = 0, k = 0;
  CostMetric metric = CostMetric::SquaredEuclidean;
  GemmKernel kernel = GemmKernel::Auto;
  int threads = 0;
  CostInfo result;
};


// readRange(path, offset, length, dstUint8, threads, crc, token) -> Promise<{bytesRead, crc32, seconds}>
class ReadWorker : public PromiseWorker {
 public:
  ReadWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[6])) {
    keep(info[3]);
    path = info[0].As<Napi::String>().Utf8Value();
    offset = static_cast<uint64_t>(info[1].As<Napi::Number>().Int64Value());
    length = static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value());
    dst = bytesOf<uint8_t>(info[3]);
    threads = info[4].As<Napi::Number>().Int32Value();
    crc = info[5].As<Napi::Boolean>().Value();
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

// scanValues(f32, threads, token) -> Promise<{nonFinite, firstNonFinite, nonPositive, firstNonPositive, min, max}>
class ScanWorker : public PromiseWorker {
 public:
  ScanWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[2])) {
    keep(info[0]);
    x = bytesOf<const float>(info[0]);
    n = static_cast<int64_t>(info[0].As<Napi::TypedArray>().ElementLength());
    threads = info[1].As<Napi::Number>().Int32Value();
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

// buildFeatures(W_enc, W_dec, b_enc, threshold|null, dModel, dSae, dec, enc, biasWeight, fold, out,
//               threads, token) -> Promise<{dim}>
class FeaturesWorker : public PromiseWorker {
 public:
  FeaturesWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[12])) {
    for (int k : {0, 1, 2, 10}) keep(info[k]);
    W_enc = bytesOf<const float>(info[0]);
    W_dec = bytesOf<const float>(info[1]);
    b_enc = bytesOf<const float>(info[2]);
    if (info[3].IsTypedArray()) {
      keep(info[3]);
      threshold = bytesOf<const float>(info[3]);
    }
    d_model = info[4].As<Napi::Number>().Int64Value();
    d_sae = info[5].As<Napi::Number>().Int64Value();
    parts.dec = info[6].As<Napi::Boolean>().Value();
    parts.enc = info[7].As<Napi::Boolean>().Value();
    parts.bias_weight = info[8].As<Napi::Number>().FloatValue();
    parts.fold = info[9].As<Napi::Boolean>().Value();
    out = bytesOf<float>(info[10]);
    threads = info[11].As<Napi::Number>().Int32Value();
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

// foldThreshold(W_enc, W_dec, b_enc, threshold, dModel, dSae, outWenc, outWdec, outBenc, threads, token)
class FoldWorker : public PromiseWorker {
 public:
  FoldWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[10])) {
    for (int k : {0, 1, 2, 3, 6, 7, 8}) keep(info[k]);
    W_enc = bytesOf<const float>(info[0]);
    W_dec = bytesOf<const float>(info[1]);
    b_enc = bytesOf<const float>(info[2]);
    threshold = bytesOf<const float>(info[3]);
    d_model = info[4].As<Napi::Number>().Int64Value();
    d_sae = info[5].As<Napi::Number>().Int64Value();
    oe = bytesOf<float>(info[6]);
    od = bytesOf<float>(info[7]);
    ob = bytesOf<float>(info[8]);
    threads = info[9].As<Napi::Number>().Int32Value();
  }
  void Run() override { foldThreshold(W_enc, W_dec, b_enc, threshold, d_model, d_sae, oe, od, ob, threads); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  const float *W_enc = nullptr, *W_dec = nullptr, *b_enc = nullptr, *threshold = nullptr;
  float *oe = nullptr, *od = nullptr, *ob = nullptr;
  int64_t d_model = 0, d_sae = 0;
  int threads = 0;
};

// halfToFloat(u16, bfloat16, outF32, threads, token) -> Promise<undefined>
class HalfWorker : public PromiseWorker {
 public:
  HalfWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[4])) {
    keep(info[0]);
    keep(info[2]);
    src = bytesOf<const uint16_t>(info[0]);
    n = static_cast<int64_t>(info[0].As<Napi::TypedArray>().ElementLength());
    bf16 = info[1].As<Napi::Boolean>().Value();
    dst = bytesOf<float>(info[2]);
    threads = info[3].As<Napi::Number>().Int32Value();
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

// parallelInit(costF32, n, rounds, token) -> Promise<{infeasible, rowToCol?, colToRow?, v?, stats}>:
// the state JV phases 1-3 in data-parallel form leave (parallelInitReference), e.g. to check it as a
// warm start or to compare a device's state with it.
class ParallelInitWorker : public PromiseWorker {
 public:
  ParallelInitWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[3])) {
    keep(info[0]);
    cost = info[0].As<Napi::Float32Array>().Data();
    n = info[1].As<Napi::Number>().Int64Value();
    rounds = info[2].As<Napi::Number>().Int32Value();
  }
  void Run() override { ws = parallelInitReference(cost, n, rounds, cancel.get()); }
  Napi::Value Result(Napi::Env env) override { return warmStartObject(env, ws); }

 private:
  const float* cost = nullptr;
  int64_t n = 0;
  int rounds = 0;
  WarmStart ws;
};

// topkRows(costF32, nRows, nCols, k, idxI32, costF32out, threads, token) -> Promise<undefined>
class TopkWorker : public PromiseWorker {
 public:
  TopkWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[7])) {
    for (int q : {0, 4, 5}) keep(info[q]);
    c = bytesOf<const float>(info[0]);
    nr = info[1].As<Napi::Number>().Int64Value();
    nc = info[2].As<Napi::Number>().Int64Value();
    k = info[3].As<Napi::Number>().Int64Value();
    idx = bytesOf<int32_t>(info[4]);
    out = bytesOf<float>(info[5]);
    threads = info[6].As<Napi::Number>().Int32Value();
  }
  void Run() override { topkRows(c, nr, nc, k, idx, out, threads); }
  Napi::Value Result(Napi::Env env) override { return env.Undefined(); }

 private:
  const float* c = nullptr;
  int64_t nr = 0, nc = 0, k = 0;
  int32_t* idx = nullptr;
  float* out = nullptr;
  int threads = 0;
};

// allocLarge(bytes) -> ArrayBuffer backed by huge-page-advised anonymous memory, freed by the GC.
Napi::Value AllocLarge(const Napi::CallbackInfo& info) {
  size_t bytes = static_cast<size_t>(info[0].As<Napi::Number>().Int64Value());
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

// crc32(u8, crc) -> number: for small buffers (inflated stream chunks); large reads CRC in readRange.
Napi::Value Crc32(const Napi::CallbackInfo& info) {
  auto a = info[0].As<Napi::TypedArray>();
  uint32_t c = static_cast<uint32_t>(info[1].As<Napi::Number>().Int64Value());
  return Napi::Number::New(info.Env(), crc32Update(c, bytesOf<const uint8_t>(info[0]), a.ByteLength()));
}

Napi::Value SolveAssignment(const Napi::CallbackInfo& info) {
  auto* w = new SolveWorker(info.Env(), info[0].As<Napi::TypedArray>(),
                            info[1].As<Napi::Number>().Int64Value(),
                            info[2].As<Napi::Number>().Int64Value(),
                            info[3].As<Napi::Boolean>().Value(), tokenFlag(info[4]),
                            info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Int32Value() : -1);
  if (info.Length() > 6 && info[6].IsObject()) w->setWarmStart(info[6].As<Napi::Object>());
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value CheckCertificate(const Napi::CallbackInfo& info) {
  auto* w = new CertificateWorker(info.Env(), info);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Value CostMatrix(const Napi::CallbackInfo& info) {
  auto* w = new CostWorker(info.Env(), info);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}


// evaluateSae({op: 'encode', ...} | {op: 'pair', ...}, token) -> Promise (see src/analysis/eval.ts): one entry
// point for both steps of the reconstruction evaluation, so each layer is encoded once and its
// sparse codes handed back to JS to be reused by the two pairs it belongs to.
class EvalWorker : public PromiseWorker {
 public:
  EvalWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[1])) {
    Napi::Object a = info[0].As<Napi::Object>();
    auto f32 = [&](const char* k) {
      Napi::Value v = a.Get(k);
      if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
        throw Napi::TypeError::New(env, std::string("evaluateSae: ") + k + " must be a Float32Array");
      keep(v);
      return bytesOf<const float>(v);
    };
    auto i64 = [&](const char* k) { return a.Get(k).As<Napi::Number>().Int64Value(); };
    encode = a.Get("op").As<Napi::String>().Utf8Value() == "encode";
    threads = a.Get("threads").As<Napi::Number>().Int32Value();
    X = f32("X");
    n = i64("n");
    d_model = i64("dModel");
    if (encode) {
      W_enc = f32("W_enc");
      b_enc = f32("b_enc");
      theta = f32("threshold");
      d_sae = i64("dSae");
      return;
    }
    in.X_next = X;
    in.n = n;
    in.d_model = d_model;
    auto codes = [&](const char* k, std::vector<int64_t>& rowPtr) {
      Napi::Object c = a.Get(k).As<Napi::Object>();
      Napi::Float64Array rp = c.Get("rowPtr").As<Napi::Float64Array>();
      rowPtr.resize(rp.ElementLength());
      for (size_t r = 0; r < rowPtr.size(); ++r) rowPtr[r] = static_cast<int64_t>(rp[r]);
      Napi::Value idx = c.Get("idx"), val = c.Get("val");
      keep(idx);
      keep(val);
      CodesView v;
      v.rows = static_cast<int64_t>(rowPtr.size()) - 1;
      v.cols = c.Get("cols").As<Napi::Number>().Int64Value();
      v.row_ptr = rowPtr.data();
      v.idx = bytesOf<const int32_t>(idx);
      v.val = bytesOf<const float>(val);
      return v;
    };
    in.F_t = codes("ft", rowPtrT);
    in.F_next = codes("fn", rowPtrN);
    in.W_dec_t = f32("W_dec_t");
    in.b_dec_t = f32("b_dec_t");
    in.W_dec_next = f32("W_dec_next");
    in.b_dec_next = f32("b_dec_next");
    in.costs = f32("costs");
    if (a.Get("theta_t").IsTypedArray()) {
      in.theta_t = f32("theta_t");
      in.theta_next = f32("theta_next");
    }
    Napi::Value perm = a.Get("perm");
    keep(perm);
    in.perm = bytesOf<const int32_t>(perm);
    Napi::Float64Array th = a.Get("thresholds").As<Napi::Float64Array>();
    for (size_t q = 0; q < th.ElementLength(); ++q) in.hybrid_thresholds.push_back(th[q]);
  }
  void Run() override {
    if (encode) codes = jumpReluEncode(X, n, d_model, W_enc, b_enc, theta, d_sae, threads, cancel.get());
    else result = evaluatePair(in, threads, cancel.get());
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    if (encode) {
      std::vector<double> rp(codes.row_ptr.begin(), codes.row_ptr.end());
      o.Set("rowPtr", toTyped<double>(env, rp));
      o.Set("idx", toTyped<int32_t>(env, codes.idx));
      o.Set("val", toTyped<float>(env, codes.val));
      o.Set("cols", static_cast<double>(codes.cols));
      return o;
    }
    o.Set("saeMatch", result.sae_match);
    o.Set("own", result.own);
    o.Set("noPermutation", result.no_permutation);
    o.Set("reusePrevious", result.reuse_previous);
    o.Set("hybrid", toTyped<double>(env, result.hybrid));
    o.Set("matchingScore", result.matching_score);
    o.Set("matchingActive", static_cast<double>(result.matching_active));
    return o;
  }

 private:
  bool encode = false;
  int threads = 0;
  const float *X = nullptr, *W_enc = nullptr, *b_enc = nullptr, *theta = nullptr;
  int64_t n = 0, d_model = 0, d_sae = 0;
  PairEvalInput in;
  std::vector<int64_t> rowPtrT, rowPtrN;
  SparseCodes codes;
  PairEval result;
};

Napi::Object pairResult(Napi::Env env, const cuda::GpuPairResult& r) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("device", r.device);
  Napi::Object t = Napi::Object::New(env);
  t.Set("upload", r.timings.upload);
  t.Set("norms", r.timings.norms);
  t.Set("gemm", r.timings.gemm);
  t.Set("init", r.timings.init);
  t.Set("download", r.timings.download);
  t.Set("total", r.timings.total);
  o.Set("timings", t);
  if (r.have_warm_start) o.Set("warmStart", warmStartObject(env, r.warm));
  return o;
}

// cudaMatchPair(a, nA, b, nB, k, metric, rounds, device, out, token) -> Promise<{device, timings,
// warmStart?}>: the cost matrix on the GPU, copied into `out`; with rounds >= 0 and nA == nB also JV
// on the GPU, phases 1-3 and 4 (native/cuda/gpu.hpp). CUDA failures reject with ERR_SAE_MATCH_DEVICE.
class CudaPairWorker : public PromiseWorker {
 public:
  CudaPairWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[9])) {
    for (int k : {0, 2, 8}) keep(info[k]);
    readFeaturePair(info, a, na, b, nb, k);
    metric = info[5].As<Napi::String>().Utf8Value() == "cosine" ? 1 : 0;
    rounds = info[6].As<Napi::Number>().Int32Value();
    device = info[7].As<Napi::Number>().Int32Value();
    out = info[8].As<Napi::Float32Array>().Data();
  }
  void Run() override { r = cuda::matchPairDevice(a, na, b, nb, k, metric, rounds, device, out, cancel.get()); }
  Napi::Value Result(Napi::Env env) override { return pairResult(env, r); }

 private:
  const float *a = nullptr, *b = nullptr;
  float* out = nullptr;
  int64_t na = 0, nb = 0, k = 0;
  int metric = 0, rounds = -1, device = 0;
  cuda::GpuPairResult r;
};

// cudaInitMatrix(cost, n, rounds, device, token) -> Promise<{device, timings, warmStart}>: JV on the
// GPU for a host matrix (the GPU solver on any benchmark family).
class CudaInitWorker : public PromiseWorker {
 public:
  CudaInitWorker(Napi::Env env, const Napi::CallbackInfo& info) : PromiseWorker(env, tokenFlag(info[4])) {
    keep(info[0]);
    cost = info[0].As<Napi::Float32Array>().Data();
    n = info[1].As<Napi::Number>().Int64Value();
    rounds = info[2].As<Napi::Number>().Int32Value();
    device = info[3].As<Napi::Number>().Int32Value();
  }
  void Run() override { r = cuda::initMatrixDevice(cost, n, rounds, device, cancel.get()); }
  Napi::Value Result(Napi::Env env) override { return pairResult(env, r); }

 private:
  const float* cost = nullptr;
  int64_t n = 0;
  int rounds = 0, device = 0;
  cuda::GpuPairResult r;
};


Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("blas", blasName());
  o.Set("haveBlas", haveBlas());
  o.Set("threads", hardwareThreads());
#ifdef SAE_MATCH_X86
  o.Set("avx2", cpuHasAvx2());
#else
  o.Set("avx2", false);
#endif
#ifdef SAE_MATCH_BUILD_SYSTEM
  o.Set("buildSystem", SAE_MATCH_BUILD_SYSTEM);
#endif
  cuda::DeviceReport r = cuda::probeDevices();
  Napi::Object c = Napi::Object::New(env);
  c.Set("compiled", r.compiled);
  c.Set("runtimeVersion", r.runtime_version);
  c.Set("driverVersion", r.driver_version);
  c.Set("deviceCount", r.device_count);
  c.Set("error", r.error);
  Napi::Array devs = Napi::Array::New(env, r.devices.size());
  for (size_t i = 0; i < r.devices.size(); ++i) {
    const auto& d = r.devices[i];
    Napi::Object od = Napi::Object::New(env);
    od.Set("index", d.index);
    od.Set("name", d.name);
    od.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
    od.Set("totalMemory", static_cast<double>(d.total_memory));
    od.Set("multiprocessors", d.multiprocessors);
    devs.Set(i, od);
  }
  c.Set("devices", devs);
  o.Set("cuda", c);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("CancelToken", CancelToken::Init(env));
  exports.Set("solveAssignment", Napi::Function::New(env, SolveAssignment));
  exports.Set("checkCertificate", Napi::Function::New(env, CheckCertificate));
  exports.Set("costMatrix", Napi::Function::New(env, CostMatrix));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("readRange", Napi::Function::New(env, queue<ReadWorker>));
  exports.Set("scanValues", Napi::Function::New(env, queue<ScanWorker>));
  exports.Set("buildFeatures", Napi::Function::New(env, queue<FeaturesWorker>));
  exports.Set("foldThreshold", Napi::Function::New(env, queue<FoldWorker>));
  exports.Set("halfToFloat", Napi::Function::New(env, queue<HalfWorker>));
  exports.Set("topkRows", Napi::Function::New(env, queue<TopkWorker>));
  exports.Set("evaluateSae", Napi::Function::New(env, queue<EvalWorker>));
  exports.Set("cudaMatchPair", Napi::Function::New(env, queue<CudaPairWorker>));
  exports.Set("cudaInitMatrix", Napi::Function::New(env, queue<CudaInitWorker>));
  exports.Set("parallelInit", Napi::Function::New(env, queue<ParallelInitWorker>));
  exports.Set("allocLarge", Napi::Function::New(env, AllocLarge));
  exports.Set("crc32", Napi::Function::New(env, Crc32));
  exports.Set("crc32Combine", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    auto u32 = [&](int k) { return static_cast<uint32_t>(info[k].As<Napi::Number>().Int64Value()); };
    return Napi::Number::New(info.Env(), crc32Combine(u32(0), u32(1), static_cast<uint64_t>(info[2].As<Napi::Number>().Int64Value())));
  }));
  return exports;
}

}  // namespace

NODE_API_MODULE(sae_match, Init)
