// Evaluation's export (src/analysis/eval.ts calls it): evaluateSae, one entry point for both steps of
// the reconstruction evaluation, so each layer is encoded once and its sparse codes handed back to JS
// to be reused by the two pairs it belongs to.
#include <string>
#include <vector>

#include "../core/eval/eval.hpp"
#include "args.hpp"
#include "register.hpp"
#include "worker.hpp"

namespace saematch::binding {
namespace {

// evaluateSae({op: 'encode', X, n, dModel, W_enc, b_enc, threshold, dSae, threads, evalKernel}, token)
//   -> {rowPtr, idx, val, cols}
// evaluateSae({op: 'pair', X, n, dModel, ft, fn, W_dec_t, b_dec_t, W_dec_next, b_dec_next, perm,
//              costs, thresholds, theta_t, theta_next, threads, evalKernel}, token)
//   -> {saeMatch, own, noPermutation, reusePrevious, hybrid, matchingScore, matchingActive}
class EvalWorker : public PromiseWorker {
 public:
  explicit EvalWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "evaluateSae", this);
    encode = a.str("op") == "encode";
    threads = a.i32("threads");
    kernels = a.str("evalKernel") == "generic" ? EvalKernels::Generic : EvalKernels::Auto;
    X = a.f32s("X");
    n = a.i64("n");
    d_model = a.i64("dModel");
    if (encode) {
      W_enc = a.f32s("W_enc");
      b_enc = a.f32s("b_enc");
      theta = a.f32s("threshold");
      d_sae = a.i64("dSae");
      return;
    }
    in.X_next = X;
    in.n = n;
    in.d_model = d_model;
    auto codes = [&](const char* k, std::vector<int64_t>& rowPtr) {
      Args c(a.object(k), "evaluateSae (codes)", this);
      Napi::Float64Array rp = c.typed("rowPtr").As<Napi::Float64Array>();
      rowPtr.resize(rp.ElementLength());
      for (size_t r = 0; r < rowPtr.size(); ++r) rowPtr[r] = static_cast<int64_t>(rp[r]);
      CodesView v;
      v.rows = static_cast<int64_t>(rowPtr.size()) - 1;
      v.cols = c.i64("cols");
      v.row_ptr = rowPtr.data();
      v.idx = Args::bytesOf<const int32_t>(c.typed("idx"));
      v.val = Args::bytesOf<const float>(c.typed("val"));
      return v;
    };
    in.F_t = codes("ft", rowPtrT);
    in.F_next = codes("fn", rowPtrN);
    in.W_dec_t = a.f32s("W_dec_t");
    in.b_dec_t = a.f32s("b_dec_t");
    in.W_dec_next = a.f32s("W_dec_next");
    in.b_dec_next = a.f32s("b_dec_next");
    in.costs = a.f32s("costs");
    if (a.has("theta_t")) {
      in.theta_t = a.f32s("theta_t");
      in.theta_next = a.f32s("theta_next");
    }
    in.perm = Args::bytesOf<const int32_t>(a.typed("perm"));
    const double* th = a.f64s("thresholds");
    in.hybrid_thresholds.assign(th, th + a.length("thresholds"));
  }
  void Run() override {
    if (encode) codes = jumpReluEncode(X, n, d_model, W_enc, b_enc, theta, d_sae, threads, kernels, cancel.get());
    else result = evaluatePair(in, threads, kernels, cancel.get());
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
  EvalKernels kernels = EvalKernels::Auto;
  const float *X = nullptr, *W_enc = nullptr, *b_enc = nullptr, *theta = nullptr;
  int64_t n = 0, d_model = 0, d_sae = 0;
  PairEvalInput in;
  std::vector<int64_t> rowPtrT, rowPtrN;
  SparseCodes codes;
  PairEval result;
};

}  // namespace

void registerEval(Napi::Env env, Napi::Object exports) {
  exports.Set("evaluateSae", Napi::Function::New(env, queue<EvalWorker>));
}

}  // namespace saematch::binding
