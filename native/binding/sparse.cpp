// The sparse method's export (src/solve/sparse.ts calls it): sparseMatch.
#include "../core/parallel.hpp"
#include "../core/sparse/sparse.hpp"
#include "../core/sparse/stored_panels.hpp"
#include "args.hpp"
#include "cost_options.hpp"
#include "register.hpp"
#include "worker.hpp"

namespace saematch::binding {
namespace {

// sparseMatch({a, b, nA, nB, k (dim), metric, kernel | cost, nRows, nCols; threads, costPanelRows,
//              candidates, tolerance, fullPassShare}, token): two feature matrices, or a stored matrix
//   -> {rowToCol, u, v, costs, totalCost, graphEdges, topkIndices, topkCosts, kRow, topkColIndices, topkColCosts, kCol, stats, pricing, seconds}
class SparseWorker : public PromiseWorker {
 public:
  explicit SparseWorker(const Napi::CallbackInfo& info) : PromiseWorker(info) {
    Args o(info, "sparseMatch", this);
    if (o.has("cost")) {  // a stored matrix (solve --method sparse, the benchmark families)
      cost = o.f32s("cost");
      na = o.i64("nRows");
      nb = o.i64("nCols");
    } else {
      pair = featurePairOf(o);
      na = pair.na;
      nb = pair.nb;
    }
    threads = o.i32("threads");
    opt.panel_rows = o.i64("costPanelRows");
    opt.k = o.i64("candidates");
    opt.tolerance = o.f64("tolerance");
    opt.full_pass_share = o.f64("fullPassShare");
    opt.stream_only = o.has("streamOnly") && o.flag("streamOnly");
    if (o.has("keep")) opt.k_keep = o.i64("keep");
    if (o.has("rowCandidates")) opt.k_row = o.i64("rowCandidates");
    if (o.has("lists")) lists = o.flag("lists");
  }
  void Run() override {
    // The smaller side is the rows: with more features in a, the panels are those of C^T (entries
    // still the (a, b) matrix's), and the caller turns the answer back.
    CallProgress* p = progress.get();
    const auto report = [p](const char* phase, int64_t done, int64_t total) {
      p->total.store(total);
      p->done.store(done);
      p->phase.store(phase);
    };
    if (cost) {
      const sparse::StoredPanels panels(cost, na, nb, threads <= 0 ? hardwareThreads() : threads, /*transposed=*/na > nb);
      kernelName = "stored";
      result = sparse::solveSparse(panels, opt, cancel.get(), report);
      return;
    }
    const CostPanels panels(pair.a, na, pair.b, nb, pair.k, pair.metric, pair.kernel, threads, /*transposed=*/na > nb);
    kernelName = panels.kernel() == GemmKernel::Blas ? "blas" : "builtin";
    result = sparse::solveSparse(panels, opt, cancel.get(), report);
  }
  Napi::Value Result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("rowToCol", toTyped<int32_t>(env, result.x));
    r.Set("u", toTyped<double>(env, result.u));
    r.Set("v", toTyped<double>(env, result.v));
    r.Set("costs", toTyped<float>(env, result.assigned_cost));
    r.Set("totalCost", result.total);
    r.Set("graphEdges", static_cast<double>(result.graph_edges));
    // --topk from each row's longer list (k_keep entries, ascending), unless the caller has no use
    // for the lists (empty then: 16 MiB copied for nothing at 8192 features).
    const sparse::Candidates& c = result.cand;
    const auto list = [&](const auto& v) {
      using T = typename std::decay_t<decltype(v)>::value_type;
      return lists ? toTyped<T>(env, v) : toTyped<T>(env, std::vector<T>{});
    };
    r.Set("kRow", static_cast<double>(c.k_keep));
    r.Set("topkIndices", list(c.keep_idx));
    r.Set("topkCosts", list(c.keep_cost));
    // The columns' own lists: b's candidates among a's rows (a cross-width pair oriented b-first
    // takes its --topk from them).
    r.Set("kCol", static_cast<double>(c.k_col));
    r.Set("topkColIndices", list(c.col_idx));
    r.Set("topkColCosts", list(c.col_cost));
    r.Set("kernel", kernelName);
    Napi::Object s = Napi::Object::New(env);
    s.Set("freeAfterCold", static_cast<double>(result.solve.free_after_cold));
    s.Set("freeAfterInit", static_cast<double>(result.solve.free_after_init));
    s.Set("arrScans", static_cast<double>(result.solve.arr_scans));
    s.Set("augmentations", static_cast<double>(result.solve.augmentations));
    s.Set("heapPops", static_cast<double>(result.solve.heap_pops));
    s.Set("edgeScans", static_cast<double>(result.solve.edge_scans));
    r.Set("stats", s);
    const auto& p = result.pricing;
    Napi::Object pr = Napi::Object::New(env);
    pr.Set("ok", p.ok);
    pr.Set("pairs", static_cast<double>(p.pairs));
    pr.Set("inGraph", static_cast<double>(p.in_graph));
    pr.Set("provenByRowBound", static_cast<double>(p.proven_by_row_bound));
    pr.Set("provenByColumnBound", static_cast<double>(p.proven_by_col_bound));
    pr.Set("evaluated", static_cast<double>(p.evaluated));
    pr.Set("rowsEvaluated", static_cast<double>(p.rows_evaluated));
    pr.Set("rowsPartial", static_cast<double>(p.rows_partial));
    pr.Set("selfChecks", static_cast<double>(p.self_checks));
    pr.Set("selfCheckFailures", static_cast<double>(p.self_check_failures));
    pr.Set("rounds", static_cast<double>(p.rounds));
    pr.Set("violationsAdded", static_cast<double>(p.violations_added));
    pr.Set("rowsCompleted", static_cast<double>(p.rows_completed));
    pr.Set("coldRestarts", static_cast<double>(p.cold_restarts));
    pr.Set("maxViolation", p.max_violation);
    pr.Set("tolerance", p.tolerance);
    pr.Set("message", p.message);
    r.Set("pricing", pr);
    Napi::Object t = Napi::Object::New(env);
    t.Set("stream", result.seconds_stream);
    t.Set("solve", result.seconds_solve);
    t.Set("pricing", result.seconds_pricing);
    r.Set("seconds", t);
    return r;
  }

 private:
  FeaturePair pair;             // features (the cost panels), or
  const float* cost = nullptr;  // a stored matrix
  int64_t na = 0, nb = 0;
  int threads = 0;
  sparse::Options opt;
  bool lists = true;
  std::string kernelName;
  sparse::Result result;
};

}  // namespace

void registerSparse(Napi::Env env, Napi::Object exports) {
  exports.Set("sparseMatch", Napi::Function::New(env, queue<SparseWorker>));
}

}  // namespace saematch::binding
