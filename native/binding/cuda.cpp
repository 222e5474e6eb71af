// The CUDA solver's exports (src/solve/backend.ts calls them): cudaMatchPair, cudaInitMatrix. CUDA
// failures reject with ERR_SAE_MATCH_DEVICE; a build without nvcc rejects every call that way.
#include "../cuda/gpu.hpp"
#include "args.hpp"
#include "lap.hpp"
#include "register.hpp"
#include "worker.hpp"

namespace saematch::binding {
namespace {

cuda::DeviceOptions deviceOptions(const Args& a, bool costKernel) {
  cuda::DeviceOptions o;
  o.phase4 = a.flag("cudaPhase4");
  if (costKernel) o.cost_kernel = a.str("cudaKernel") == "simple" ? cuda::CostKernel::Simple : cuda::CostKernel::Pipelined;
  return o;
}

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

// cudaMatchPair({a, nA, b, nB, k, metric, rounds, device, out, cudaPhase4, cudaKernel}, token)
//   -> {device, timings, warmStart?}: the cost matrix on the GPU, copied into `out`; with rounds >= 0
// and nA == nB also JV on the GPU, phases 1-3 and (cudaPhase4) 4 (native/cuda/gpu.hpp).
class CudaPairWorker : public PromiseWorker {
 public:
  explicit CudaPairWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args o(info, "cudaMatchPair", this);
    a = o.f32s("a");
    na = o.i64("nA");
    b = o.f32s("b");
    nb = o.i64("nB");
    k = o.i64("k");
    metric = o.str("metric") == "cosine" ? 1 : 0;
    rounds = o.i32("rounds");
    device = o.i32("device");
    out = o.f32out("out");
    options = deviceOptions(o, true);
  }
  void Run() override { r = cuda::matchPairDevice(a, na, b, nb, k, metric, rounds, device, options, out, cancel.get()); }
  Napi::Value Result(Napi::Env env) override { return pairResult(env, r); }

 private:
  const float *a = nullptr, *b = nullptr;
  float* out = nullptr;
  int64_t na = 0, nb = 0, k = 0;
  int metric = 0, rounds = -1, device = 0;
  cuda::DeviceOptions options;
  cuda::GpuPairResult r;
};

// cudaInitMatrix({cost (float32), n, rounds, device, cudaPhase4}, token) -> {device, timings,
// warmStart}: JV on the GPU for a host matrix (the GPU solver on any benchmark family).
class CudaInitWorker : public PromiseWorker {
 public:
  explicit CudaInitWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "cudaInitMatrix", this);
    cost = a.f32s("cost");
    n = a.i64("n");
    rounds = a.i32("rounds");
    device = a.i32("device");
    options = deviceOptions(a, false);
  }
  void Run() override { r = cuda::initMatrixDevice(cost, n, rounds, device, options, cancel.get()); }
  Napi::Value Result(Napi::Env env) override { return pairResult(env, r); }

 private:
  const float* cost = nullptr;
  int64_t n = 0;
  int rounds = 0, device = 0;
  cuda::DeviceOptions options;
  cuda::GpuPairResult r;
};

}  // namespace

void registerCuda(Napi::Env env, Napi::Object exports) {
  exports.Set("cudaMatchPair", Napi::Function::New(env, queue<CudaPairWorker>));
  exports.Set("cudaInitMatrix", Napi::Function::New(env, queue<CudaInitWorker>));
}

}  // namespace saematch::binding
