// The solver's exports (src/solve/lap.ts calls them): solveAssignment, checkCertificate, parallelInit.
#include "lap.hpp"

#include <optional>

#include "args.hpp"
#include "register.hpp"
#include "worker.hpp"

namespace saematch::binding {

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
  o.Set("helperSteps", static_cast<double>(s.helper_steps));
  o.Set("stepsTakenOver", static_cast<double>(s.steps_taken_over));
  return o;
}

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

namespace {

// A cost matrix argument: float32 or float64, row-major.
// The assignment problem both solveAssignment and checkCertificate receive: {cost (Float32Array or
// Float64Array, row-major), nRows, nCols, maximize}. The workers derive from it, so the fields read
// here are theirs.
struct CostProblem {
  const uint8_t* data = nullptr;
  bool isDouble = false;
  int64_t nr = 0, nc = 0;
  bool maximize = false;

  void readProblem(const Args& a, const char* call) {
    Napi::TypedArray t = a.typed("cost");
    const napi_typedarray_type type = t.TypedArrayType();
    if (type != napi_float32_array && type != napi_float64_array)
      throw Napi::TypeError::New(t.Env(), std::string(call) + ": option 'cost' must be a Float32Array or Float64Array");
    data = Args::bytesOf<const uint8_t>(t);
    isDouble = type == napi_float64_array;
    nr = a.i64("nRows");
    nc = a.i64("nCols");
    maximize = a.flag("maximize");
  }
};

// solveAssignment({cost, nRows, nCols, maximize, lapThreads, parallelRounds?, parallelBudget?, warmStart?}, token).
// parallelRounds (square float32, minimise): the CUDA solver's data-parallel initialisation run on
// the host (parallelInitReference) with that many bidding rounds, then phase 4 from its result;
// parallelBudget: its rounds also stop at the sequential phase 3's scan bound (sequentialArrScans).
// warmStart {rowToCol, colToRow, v}: phase 4 from that state, checked first (solveFromWarmStart).
class SolveWorker : public PromiseWorker, private CostProblem {
 public:
  explicit SolveWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "solveAssignment", this);
    readProblem(a, "solveAssignment");
    options.phase4_threads = a.i32("lapThreads");
    if (a.has("parallelRounds")) rounds = a.i32("parallelRounds");
    if (a.has("parallelBudget")) budget = a.flag("parallelBudget");
    if (a.has("warmStart")) setWarmStart(a.object("warmStart"));
  }
  void Run() override {
    if (warm) {
      if (isDouble || maximize || nr != nc) throw InputError("a warm start takes square float32 matrices, minimised");
      result = solveFromWarmStart(reinterpret_cast<const float*>(data), nr, std::move(*warm), options, cancel.get());
      return;
    }
    if (rounds >= 0) {
      if (isDouble || maximize || nr != nc)
        throw InputError("the parallel initialisation takes square float32 matrices, minimised");
      result = solveWithParallelInit(reinterpret_cast<const float*>(data), nr, rounds, options, cancel.get(),
                                     budget ? sequentialArrScans(nr) : 0);
      return;
    }
    result = isDouble ? solveAssignment(reinterpret_cast<const double*>(data), nr, nc, maximize, options,
                                        cancel.get())
                      : solveAssignment(reinterpret_cast<const float*>(data), nr, nc, maximize, options,
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
  // The caller's warm start is copied here: solveFromWarmStart takes it by value and checks it.
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

  int rounds = -1;
  bool budget = false;
  SolverOptions options;
  std::optional<WarmStart> warm;
  LapResult result;
};

// checkCertificate({cost, nRows, nCols, maximize, rowToCol, u, v, tolerance}, token).
class CertificateWorker : public PromiseWorker, private CostProblem {
 public:
  explicit CertificateWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "checkCertificate", this);
    readProblem(a, "checkCertificate");
    x = a.i32s("rowToCol");
    u = a.f64s("u");
    v = a.f64s("v");
    tol = a.f64("tolerance");
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
  const int32_t* x = nullptr;
  const double *u = nullptr, *v = nullptr;
  double tol = 0;
  Certificate cert;
};

// parallelInit({cost (float32), n, rounds}, token) -> {infeasible, rowToCol?, colToRow?, v?, stats}:
// the state JV phases 1-3 in data-parallel form leave (parallelInitReference), e.g. to check it as a
// warm start or to compare a device's state with it.
class ParallelInitWorker : public PromiseWorker {
 public:
  explicit ParallelInitWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args a(info, "parallelInit", this);
    cost = a.f32s("cost");
    n = a.i64("n");
    rounds = a.i32("rounds");
  }
  void Run() override { ws = parallelInitReference(cost, n, rounds, cancel.get()); }
  Napi::Value Result(Napi::Env env) override { return warmStartObject(env, ws); }

 private:
  const float* cost = nullptr;
  int64_t n = 0;
  int rounds = 0;
  WarmStart ws;
};

}  // namespace

void registerLap(Napi::Env env, Napi::Object exports) {
  exports.Set("solveAssignment", Napi::Function::New(env, queue<SolveWorker>));
  exports.Set("checkCertificate", Napi::Function::New(env, queue<CertificateWorker>));
  exports.Set("parallelInit", Napi::Function::New(env, queue<ParallelInitWorker>));
}

}  // namespace saematch::binding
