// The cost matrix's exports (src/solve/cost.ts and src/solve/topk.ts call them): costMatrix, topkRows.
#include "../core/cost/cost.hpp"
#include "../core/cost/topk.hpp"
#include "../core/errors.hpp"
#include "args.hpp"
#include "cost_options.hpp"
#include "register.hpp"
#include "worker.hpp"

namespace saematch::binding {
namespace {

// costMatrix({a, nA, b, nB, k, metric, kernel, threads, costPanelRows, out}, token)
//   -> {kernel, threads, seconds}
class CostWorker : public PromiseWorker {
 public:
  explicit CostWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args o(info, "costMatrix", this);
    p = featurePairOf(o);
    threads = o.i32("threads");
    panelRows = o.i64("costPanelRows");
    out = o.f32out("out");
  }
  void Run() override { result = costMatrix(p.a, p.na, p.b, p.nb, p.k, p.metric, p.kernel, threads, panelRows, out, cancel.get()); }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("kernel", result.kernel);
    r.Set("threads", result.threads);
    r.Set("seconds", result.seconds);
    return r;
  }

 private:
  FeaturePair p;
  float* out = nullptr;
  int64_t panelRows = 0;
  int threads = 0;
  CostInfo result;
};

// costRows({a, nA, b, nB, k, metric, kernel, threads, rows (Int32Array), transposed, out}, token)
//   -> {kernel}: the given rows of the (a, b) cost matrix, or of its transpose (rows index b), through
// the cost panels the sparse method recomputes rows with (test/blas.test.ts checks them, bit for bit,
// against the whole matrix under each BLAS's rules).
class CostRowsWorker : public PromiseWorker {
 public:
  explicit CostRowsWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args o(info, "costRows", this);
    p = featurePairOf(o);
    threads = o.i32("threads");
    rows = o.i32s("rows");
    count = static_cast<int64_t>(o.length("rows"));
    transposed = o.flag("transposed");
    out = o.f32out("out");
    outLength = static_cast<int64_t>(o.length("out"));
  }
  void Run() override {
    const int64_t limit = transposed ? p.nb : p.na;
    for (int64_t q = 0; q < count; ++q)
      if (rows[q] < 0 || rows[q] >= limit) throw InputError("costRows: row " + std::to_string(rows[q]) + " does not exist");
    if (outLength != count * (transposed ? p.na : p.nb)) throw InputError("costRows: out must hold rows x columns floats");
    const CostPanels panels(p.a, p.na, p.b, p.nb, p.k, p.metric, p.kernel, threads, transposed);
    kernelName = panels.kernel() == GemmKernel::Blas ? "blas" : "builtin";
    panels.gathered(rows, count, out);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("kernel", kernelName);
    return r;
  }

 private:
  FeaturePair p;
  const int32_t* rows = nullptr;
  float* out = nullptr;
  int64_t count = 0, outLength = 0;
  bool transposed = false;
  int threads = 0;
  std::string kernelName;
};

// topkRows({cost (float32), nRows, nCols, k, indices (Int32Array out), costs (Float32Array out),
//           threads}, token) -> undefined
class TopkWorker : public PromiseWorker {
 public:
  explicit TopkWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "topkRows", this);
    c = a.f32s("cost");
    nr = a.i64("nRows");
    nc = a.i64("nCols");
    k = a.i64("k");
    idx = a.i32out("indices");
    out = a.f32out("costs");
    threads = a.i32("threads");
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

}  // namespace

void registerCost(Napi::Env env, Napi::Object exports) {
  exports.Set("costMatrix", Napi::Function::New(env, queue<CostWorker>));
  exports.Set("topkRows", Napi::Function::New(env, queue<TopkWorker>));
  exports.Set("costRows", Napi::Function::New(env, queue<CostRowsWorker>));
}

}  // namespace saematch::binding
