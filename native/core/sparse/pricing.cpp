// The driver of the sparse method and its pricing step: stream the candidates, solve on the graph,
// then prove over all n^2 pairs that no dropped pair (i, j) has a negative reduced cost
// r_ij = c_ij - u_i - v_j. A dropped entry of row i is >= row_bound[i] and one of column j is
// >= col_bound[j], so r_ij >= max(row_bound[i], col_bound[j]) - u_i - v_j; the pairs this does not
// prove are evaluated exactly (their rows recomputed through the dense kernel's GEMM, batched), and
// every violator joins the graph and is re-solved from the warm start, until a round finds none.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "sparse.hpp"
#include "../errors.hpp"
#include "../parallel.hpp"

namespace saematch::sparse {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// u_i = c[i, x_i] - v[x_i], the assigned costs kept by the solver.
std::vector<double> rowDuals(const Graph& g, const State& s, std::vector<float>& assigned) {
  std::vector<double> u(static_cast<size_t>(g.n_rows), kInf);
  assigned.assign(static_cast<size_t>(g.n_rows), std::numeric_limits<float>::quiet_NaN());
  for (int64_t i = 0; i < g.n_rows; ++i)
    if (s.x[i] >= 0) {
      assigned[i] = s.xc[i];
      u[i] = static_cast<double>(s.xc[i]) - s.v[s.x[i]];
    }
  return u;
}

// Merges entries (column, cost), sorted by column, into a row's kept list (idx, cost, sorted by
// column): one entry a column.
void mergeKept(std::vector<int32_t>& idx, std::vector<float>& cost, const std::vector<std::pair<int32_t, float>>& add) {
  std::vector<int32_t> mi;
  std::vector<float> mc;
  mi.reserve(idx.size() + add.size());
  mc.reserve(idx.size() + add.size());
  size_t p = 0, q = 0;
  while (p < idx.size() || q < add.size()) {
    if (q >= add.size() || (p < idx.size() && idx[p] <= add[q].first)) {
      if (q < add.size() && add[q].first == idx[p]) ++q;  // in both: one entry
      mi.push_back(idx[p]), mc.push_back(cost[p]), ++p;
    } else {
      mi.push_back(add[q].first), mc.push_back(add[q].second), ++q;
    }
  }
  idx.swap(mi);
  cost.swap(mc);
}

// A set of columns with a cost each, read back in column order and left empty: a bit a column, and a
// summary bit a word of them, so a drain visits only the words that hold members.
class ColumnSet {
 public:
  explicit ColumnSet(int64_t nc)
      : bits_(static_cast<size_t>((nc + 63) / 64), 0), summary_(static_cast<size_t>((nc + 4095) / 4096), 0), cost_(static_cast<size_t>(nc)) {}
  void add(int32_t j, float cost) {
    uint64_t& w = bits_[static_cast<size_t>(j) >> 6];
    const uint64_t bit = uint64_t{1} << (j & 63);
    size_ += (w & bit) == 0;
    w |= bit;
    summary_[static_cast<size_t>(j) >> 12] |= uint64_t{1} << ((j >> 6) & 63);
    cost_[static_cast<size_t>(j)] = cost;
  }
  size_t size() const { return size_; }
  template <typename F>
  void drain(F f) {
    for (size_t s = 0; s < summary_.size(); ++s) {
      for (uint64_t sw = summary_[s]; sw; sw &= sw - 1) {
        const size_t w = s * 64 + static_cast<size_t>(__builtin_ctzll(sw));
        for (uint64_t bw = bits_[w]; bw; bw &= bw - 1) {
          const int32_t j = static_cast<int32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(bw)));
          f(j, cost_[static_cast<size_t>(j)]);
        }
        bits_[w] = 0;
      }
      summary_[s] = 0;
    }
    size_ = 0;
  }

 private:
  std::vector<uint64_t> bits_, summary_;
  std::vector<float> cost_;
  size_t size_ = 0;
};

}  // namespace

Result solveSparse(const PanelSource& panels, const Options& opt, const std::atomic<bool>* cancel,
                   const Progress& progress) {
  // Rows are the smaller side (the caller orients the pair): every row is assigned, and with more
  // columns than rows the columns left free must share the highest dual (checked below).
  const int64_t n = panels.nRows(), nc = panels.nCols();
  if (nc < n) throw InputError("internal: the sparse method takes the smaller side as rows (" + std::to_string(n) + " rows, " + std::to_string(nc) + " columns)");
  const bool rect = nc > n;
  Result res;
  const int threads = panels.threads();
  const auto t0 = Clock::now();
  const int64_t kKeep = std::min<int64_t>(nc, opt.k_keep > 0 ? std::max(opt.k_keep, opt.k) : std::max<int64_t>(256, 8 * opt.k));
  const int64_t kRow = opt.k_row > 0 ? opt.k_row : 2 * opt.k;
  res.cand = streamCandidates(panels, opt.k, kRow, std::max(kKeep, std::min(kRow, nc)), opt.panel_rows, cancel,
                              [&](int64_t done) { if (progress) progress("stream", done, n); });
  res.seconds_stream = since(t0);
  if (opt.stream_only) return res;
  const Candidates& c = res.cand;

  std::vector<Edge> extra;
  std::vector<uint8_t> rowWhole(static_cast<size_t>(n), 0);  // rows whose every entry is an edge
  // Every row keeps the stream's longer lists (kKeep lowest entries by c and by c - beta, columns
  // ascending) with the two tighter bounds of what they drop: pricing checks those entries from
  // memory and recomputes the row only if even these bounds leave pairs open.
  // A row pricing has recomputed also keeps, beside them, its entries of lowest c_ij - v_j under the
  // duals of that round (snapshot `snap` of v), and b3, the least c_ij - v_j of every entry neither
  // an edge nor kept: later, under duals v', c_ij - v'_j >= b3 - max_j (v'_j - v_j), so the row stays
  // proven without another GEMM until its u_i rises past that (v only falls while paths augment,
  // so the correction is normally 0; it is computed, not assumed).
  // A row evaluated on its open pairs alone has the same for those pairs: under snapshot snapOpen,
  // the pairs open then (v_j >= t1Open, w_j > t2Open in that snapshot's duals) that are neither
  // edges nor kept have c_ij - v_j >= b3Open. Without it the same rows came back open round after
  // round at 65536 (about 2,000 a round, their pairs already evaluated), only to be proven again.
  struct Kept {
    std::vector<int32_t> idx;
    std::vector<float> cost;
    float b1 = 0;
    double b2 = 0;
    double b3 = -kInf;
    int32_t snap = -1;
    double b3Open = -kInf, t1Open = kInf, t2Open = kInf;
    int32_t snapOpen = -1;
  };
  std::vector<Kept> kept(static_cast<size_t>(n));
  std::vector<float> scratch;
  // The largest cost seen sets the certificate's tolerance (as the dense certificate's, 1e-9 relative).
  double scale = 0;
  for (float x : c.row_cost) if (std::isfinite(x)) scale = std::max(scale, std::fabs(static_cast<double>(x)));
  for (float x : c.col_cost) if (std::isfinite(x)) scale = std::max(scale, std::fabs(static_cast<double>(x)));
  for (float x : c.row_bound) if (std::isfinite(x)) scale = std::max(scale, std::fabs(static_cast<double>(x)));
  for (float x : c.row_cost2) if (std::isfinite(x)) scale = std::max(scale, std::fabs(static_cast<double>(x)));

  // Every row's longer lists from the stream, as one column-sorted list with their two bounds. The
  // two lists (2 k_keep entries) are merged through a bit set over the columns, read back in column
  // order with a summary word per 4096 columns, instead of a sort of the pairs: the learned pair's
  // 8192 rows took 0.12 s sorted (BENCHMARKS.md, "seventh round"). An entry in both lists is the same
  // matrix entry, so the set's one cost per column is it.
  parallelFor(n, threads, 256, [&](int64_t b, int64_t e, int) {
    ColumnSet set(nc);
    for (int64_t i = b; i < e; ++i) {
      Kept& kp = kept[i];
      const int64_t kk = c.k_keep;
      for (int64_t q = 0; q < kk; ++q)
        if (c.keep_idx[i * kk + q] >= 0) set.add(c.keep_idx[i * kk + q], c.keep_cost[i * kk + q]);
      if (c.offsets)
        for (int64_t q = 0; q < kk; ++q)
          if (c.keep_idx2[i * kk + q] >= 0) set.add(c.keep_idx2[i * kk + q], c.keep_cost2[i * kk + q]);
      kp.idx.resize(set.size());
      kp.cost.resize(set.size());
      size_t q = 0;
      set.drain([&](int32_t j, float cost) { kp.idx[q] = j, kp.cost[q] = cost, ++q; });
      kp.b1 = c.keep_bound[i];
      kp.b2 = c.offsets ? c.keep_bound2[i] : kInf;
    }
  });
  for (float x : c.keep_cost) if (std::isfinite(x)) scale = std::max(scale, std::fabs(static_cast<double>(x)));
  // Rows pricing has recomputed; a row needed a second time joins the graph whole (its bounds did
  // not hold under two sets of duals: a flat row, cheaper as edges than as GEMM rounds).
  std::vector<uint8_t> timesEvaluated(static_cast<size_t>(n), 0);
  // The duals v of each round that recomputed rows, and how far v has since risen above each.
  std::vector<std::vector<double>> vSnap;
  std::vector<double> vRise;
  const int64_t kEval = std::max<int64_t>(1, c.k_keep / 2);
  // What a row evaluated on its open pairs alone keeps of them, within a budget of n k_keep entries
  // over the whole pricing (memory: src/solve/sparse.ts sparseBytes). At 16384, 2 k_keep left 359
  // rows open in the next such round and 16 k_keep 352, but 130 in the one after it, where 185 were;
  // 4 k_keep holds a part's heaps (256 rows) to 4 MiB at the default k_keep.
  const int64_t kPartialKeep = 4 * c.k_keep;
  const int64_t partialKeptBudget = n * c.k_keep;
  // Whether the source evaluates chosen pairs at all (C^T's panels do not: rows there are recomputed whole).
  const bool pairsEvaluable = panels.prefixBlock(nullptr, nullptr, 0, nullptr, 0, nullptr);
  std::atomic<int64_t> partialKept{0};

  // Adds rows computed whole (list) to the graph: every entry an edge.
  auto addWholeRows = [&](const std::vector<int32_t>& list) {
    const int64_t B = std::max<int64_t>(1, std::min<int64_t>(opt.panel_rows, static_cast<int64_t>(list.size())));
    scratch.resize(static_cast<size_t>(B * nc));
    for (size_t s0 = 0; s0 < list.size(); s0 += B) {
      const int64_t cnt = std::min<int64_t>(B, static_cast<int64_t>(list.size() - s0));
      panels.gathered(list.data() + s0, cnt, scratch.data());
      for (int64_t r = 0; r < cnt; ++r) {
        const int32_t i = list[s0 + r];
        rowWhole[i] = 1;
        for (int64_t j = 0; j < nc; ++j) {
          extra.push_back({i, static_cast<int32_t>(j), scratch[r * nc + j]});
          scale = std::max(scale, std::fabs(static_cast<double>(scratch[r * nc + j])));
        }
      }
    }
  };

  const auto t1 = Clock::now();
  if (progress) progress("solve", 0, 0);
  Graph g = buildGraph(c, extra);
  extra.clear();
  // Edges found since the graph was last grown wait in `extra`; once merged they live in g alone.
  auto growGraph = [&] {
    g = addEdges(g, std::move(extra));
    extra.clear();
  };
  // Calls f(j) once for every column j that is an edge of row i or one of its kept entries (both
  // lists sorted by column).
  auto forEdgesAndKept = [&](int64_t i, auto f) {
    int64_t e = g.ptr[i];
    const int64_t end = g.ptr[i + 1];
    const std::vector<int32_t>& ki = kept[i].idx;
    size_t q = 0;
    while (e < end || q < ki.size()) {
      if (q >= ki.size() || (e < end && g.col[e] < ki[q])) f(g.col[e++]);
      else if (e >= end || ki[q] < g.col[e]) f(ki[q++]);
      else f(g.col[e++]), ++q;
    }
  };
  // Whether column j is an edge of row i or one of its kept entries (two binary searches).
  auto edgeOrKept = [&](int64_t i, int32_t j) {
    return std::binary_search(g.col.begin() + g.ptr[i], g.col.begin() + g.ptr[i + 1], j) ||
           std::binary_search(kept[i].idx.begin(), kept[i].idx.end(), j);
  };
  // Calls f(q) for every kept entry q of row i (kept[i].idx[q]) that is not an edge.
  auto forKeptNonEdges = [&](int64_t i, auto f) {
    const Kept& kp = kept[i];
    int64_t at = g.ptr[i];
    const int64_t end = g.ptr[i + 1];
    for (size_t q = 0; q < kp.idx.size(); ++q) {
      const int32_t j = kp.idx[q];
      while (at < end && g.col[at] < j) ++at;
      if (at < end && g.col[at] == j) continue;
      f(q);
    }
  };
  // Rows joining whole cost nc edges each: at most as many edges as the rows' longer lists hold
  // (256 rows of a square pair at kKeep = 256), so a wide pair's memory stays O(n k) (four times that
  // took a 131072-wide pair at d_model 32 to 4.6 GiB); past that a row is recomputed when its bounds
  // need it, as any other.
  const int64_t wholeBudget = std::max<int64_t>(1, n * c.k_keep / std::max<int64_t>(1, nc));
  int64_t wholeRows = 0;
  State s;
  // Augments every free row; rows the graph has no perfect matching through get every column.
  auto augmentAll = [&] {
    for (;;) {
      std::vector<int32_t> stuck = augmentFree(g, s, res.solve, cancel);
      if (stuck.empty()) return;
      res.pricing.rows_completed += static_cast<int64_t>(stuck.size());
      addWholeRows(stuck);
      growGraph();
    }
  };
  // Before the solve, each row's kept entries of least c_ij - v_j under the start's duals (v_j the
  // column minima) join the graph, k_start of them. Pricing's first round used to find these among
  // the kept entries once the graph was solved (53,358 violators in 679 rows at 16384) and to free
  // and augment those rows again (0.75-0.97 s); as edges from the start they cost the solve nothing
  // measurable (BENCHMARKS.md, "fifth round"). The duals only fall while paths augment, so an entry
  // low under the start's duals is the likeliest to violate under the solved ones. Square pairs only:
  // with more columns than rows every v_j starts at 0, where these are the row's next lowest costs.
  const int64_t kStart = opt.k_start >= 0 ? opt.k_start : opt.k;
  if (kStart > 0 && !rect) {
    const std::vector<double> vStart = columnMinima(g);
    const int parts = parallelParts(n, threads, 256);
    std::vector<std::vector<Edge>> add(static_cast<size_t>(parts));
    parallelFor(n, threads, 256, [&](int64_t b, int64_t e, int part) {
      std::vector<std::pair<double, int32_t>> low;
      for (int64_t i = b; i < e; ++i) {
        low.clear();
        const Kept& kp = kept[i];
        forKeptNonEdges(i, [&](size_t q) { low.emplace_back(static_cast<double>(kp.cost[q]) - vStart[kp.idx[q]], static_cast<int32_t>(q)); });
        if (static_cast<int64_t>(low.size()) > kStart) {
          std::nth_element(low.begin(), low.begin() + kStart, low.end());
          low.resize(static_cast<size_t>(kStart));
        }
        for (const auto& [key, q] : low) add[part].push_back({static_cast<int32_t>(i), kp.idx[q], kp.cost[q]});
      }
    });
    for (const auto& a : add) extra.insert(extra.end(), a.begin(), a.end());
    growGraph();
  }
  coldStart(g, s, res.solve);
  augmentAll();
  res.seconds_solve = since(t1);
  // More columns than rows: how far the free columns' duals fall short of the highest dual (0 when
  // the rectangular optimality condition holds: every free column at the common maximum).
  auto freeGap = [&] {
    if (!rect) return 0.0;
    double maxAll = -kInf, minFree = kInf;
    for (int64_t j = 0; j < nc; ++j) {
      maxAll = std::max(maxAll, s.v[j]);
      if (s.y[j] < 0) minFree = std::min(minFree, s.v[j]);
    }
    return minFree < kInf ? maxAll - minFree : 0.0;
  };

  const auto tPricing = Clock::now();
  Pricing& pr = res.pricing;
  pr.pairs = n * nc;
  const double tol = opt.tolerance > 0 ? opt.tolerance : 1e-9 * (1.0 + scale);
  pr.tolerance = tol;
  std::vector<float> assigned;
  std::vector<double> u;
  // SAE_MATCH_SPARSE_TRACE set: a line per pricing round on stderr (where the time goes).
  const bool trace = std::getenv("SAE_MATCH_SPARSE_TRACE") != nullptr;
  // SAE_MATCH_SPARSE_CHECK set (tests): the shortcuts below are checked the slow way as they run
  // (Pricing::self_checks, self_check_failures).
  const bool selfCheck = std::getenv("SAE_MATCH_SPARSE_CHECK") != nullptr;
  std::atomic<int64_t> checks{0}, checkFailures{0};
  auto checked = [&](bool ok) {
    checks.fetch_add(1, std::memory_order_relaxed);
    if (!ok) checkFailures.fetch_add(1, std::memory_order_relaxed);
  };
  if (trace)
    std::fprintf(stderr, "sparse: stream %.2f s, %lld edges; solve %.2f s: %lld free after the column minima, %lld after %lld row reduction scans, %lld augmentations (%.2f s), %lld heap pops, %lld edge scans, %lld row keyings\n",
                 res.seconds_stream, static_cast<long long>(g.edges()), res.seconds_solve, static_cast<long long>(res.solve.free_after_cold),
                 static_cast<long long>(res.solve.free_after_init), static_cast<long long>(res.solve.arr_scans),
                 static_cast<long long>(res.solve.augmentations), res.solve.seconds, static_cast<long long>(res.solve.heap_pops), static_cast<long long>(res.solve.edge_scans),
                 static_cast<long long>(res.solve.row_keyings));
  for (;;) {
    if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
    ++pr.rounds;
    double traceGemm = 0;
    if (progress) progress("pricing", pr.rounds, 0);
    u = rowDuals(g, s, assigned);
    const bool two = c.offsets;
    const int parts = parallelParts(n, threads, 64);
    // Pass A: the graph's own edges, and every row's kept entries (both lists sorted by column, so a
    // merge tells the kept entries that are not edges), their reduced costs checked from memory.
    std::vector<double> edgeWorst(static_cast<size_t>(parts), 0.0), keptWorst(static_cast<size_t>(parts), 0.0);
    std::vector<int64_t> keptChecked(static_cast<size_t>(parts), 0);
    std::vector<int32_t> keptNonEdge(static_cast<size_t>(n), 0);
    std::vector<std::vector<Edge>> keptViol(static_cast<size_t>(parts));
    parallelFor(n, threads, 64, [&](int64_t b, int64_t e, int part) {
      double worst = 0, worstKept = 0;
      for (int64_t i = b; i < e; ++i) {
        for (int64_t q = g.ptr[i]; q < g.ptr[i + 1]; ++q)
          worst = std::max(worst, -(static_cast<double>(g.cost[q]) - u[i] - s.v[g.col[q]]));
        if (rowWhole[i]) continue;
        const Kept& kp = kept[i];
        int64_t nonEdge = 0;
        forKeptNonEdges(i, [&](size_t q) {
          const int32_t j = kp.idx[q];
          ++nonEdge;
          const double red = static_cast<double>(kp.cost[q]) - u[i] - s.v[j];
          worstKept = std::max(worstKept, -red);
          // Every violating kept entry joins (at most 2 kKeep a row): checking them costs no GEMM,
          // and a row left with violators would come back round after round.
          if (red < -tol) keptViol[part].push_back({static_cast<int32_t>(i), j, kp.cost[q]});
        });
        keptNonEdge[i] = static_cast<int32_t>(nonEdge);
        keptChecked[part] += nonEdge;
      }
      edgeWorst[part] = worst;
      keptWorst[part] = worstKept;
    });
    double worstEdge = 0;
    for (double w : edgeWorst) worstEdge = std::max(worstEdge, w);
    // Kept entries that violate are fixed first, without recomputing a row or walking the bounds:
    // the duals they leave are nearer the last ones, so the rows then recomputed are fewer, and are
    // recomputed once.
    bool keptFirst = false;
    for (int q = 0; q < parts; ++q) keptFirst = keptFirst || !keptViol[q].empty();

    // Pass B (only when no kept entry violates): a dropped pair (i, j) is proven by row i's bounds when
    //   c_ij >= row_bound[i]:              v_j       <= row_bound[i]  - u_i + tol  (t1_i), or
    //   c_ij - beta_j >= row_bound2[i]:    v_j - b_j <= row_bound2[i] - u_i + tol  (t2_i),
    // so the pairs neither proves are those of the prefix of v descending (v_j > t1_i) whose w_j > t2_i.
    // The columns in v order are cut into blocks of kBlock, each also sorted by w descending: a block
    // wholly inside row i's prefix gives its w > t2_i entries by a walk that stops at the first
    // w <= t2_i, so a row costs a step per block plus what is left open, not its whole prefix.
    bool fullPass = false;
    std::vector<int64_t> byRow(static_cast<size_t>(n), 0), byCol(static_cast<size_t>(n), 0);
    std::vector<uint8_t> open(static_cast<size_t>(n), 0);
    std::vector<int64_t> openPairs(trace ? static_cast<size_t>(n) : 0, 0);  // for the trace only
    std::vector<int64_t> boundProven(static_cast<size_t>(n), 0);  // a row's open pairs its rounding bound proved
    const bool boundProofs = !pairsEvaluable;
    const int64_t addPerRow = std::max<int64_t>(opt.k, 8);
    // The columns in v order, cut into blocks each sorted by w descending (below); each row's t2 and
    // the length of its prefix of v. Pass B walks them, and so does the evaluation of open pairs:
    // 2048 columns a block, where 512 left more short tiles to that evaluation (each padded to the
    // width OpenBLAS computes as the whole matrix does), measured at 65536: 3.3-3.6 s a round for
    // the same rows where 512 took 4.3-5.7 s.
    constexpr int64_t kBlock = 2048;
    std::vector<double> blkW, t1, t2;
    std::vector<int32_t> blkJ, blkPos;  // blkPos[j]: column j's place in blkJ
    std::vector<int64_t> len;
    if (!keptFirst) {
      auto byDesc = [&](const std::vector<double>& key) {
        std::vector<int32_t> order(static_cast<size_t>(nc));
        std::iota(order.begin(), order.end(), 0);
        std::sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return key[a] > key[b] || (key[a] == key[b] && a < b); });
        std::vector<double> sorted(static_cast<size_t>(nc));
        for (int64_t q = 0; q < nc; ++q) sorted[q] = key[order[q]];
        return std::make_pair(order, sorted);
      };
      std::vector<double> w(static_cast<size_t>(nc));
      for (int64_t j = 0; j < nc; ++j) w[j] = two ? s.v[j] - c.beta[j] : s.v[j];
      const auto [orderV, sortedV] = byDesc(s.v);
      auto prefix = [](const std::vector<double>& sorted, double t) {
        return static_cast<int64_t>(std::upper_bound(sorted.begin(), sorted.end(), t, [](double x, double y) { return x > y; }) - sorted.begin());
      };
      blkW.resize(static_cast<size_t>(nc));
      blkJ.resize(static_cast<size_t>(nc));
      for (int64_t b0 = 0; b0 < nc; b0 += kBlock) {
        const int64_t b1 = std::min(nc, b0 + kBlock);
        std::vector<std::pair<double, int32_t>> tmp;
        for (int64_t q = b0; q < b1; ++q) tmp.emplace_back(-w[orderV[q]], orderV[q]);
        std::sort(tmp.begin(), tmp.end());
        for (int64_t q = b0; q < b1; ++q) blkW[q] = -tmp[q - b0].first, blkJ[q] = tmp[q - b0].second;
      }
      blkPos.resize(static_cast<size_t>(nc));
      for (int64_t q = 0; q < nc; ++q) blkPos[blkJ[q]] = static_cast<int32_t>(q);
      vRise.assign(vSnap.size(), 0.0);
      for (size_t q = 0; q < vSnap.size(); ++q)
        for (int64_t j = 0; j < nc; ++j) vRise[q] = std::max(vRise[q], s.v[j] - vSnap[q][j]);
      t1.assign(static_cast<size_t>(n), kInf);
      t2.assign(static_cast<size_t>(n), -kInf);
      len.assign(static_cast<size_t>(n), 0);
      for (int64_t i = 0; i < n; ++i) {
        t1[i] = static_cast<double>(kept[i].b1) - u[i] + tol;
        if (two) t2[i] = kept[i].b2 - u[i] + tol;
        if (!rowWhole[i]) len[i] = prefix(sortedV, t1[i]);
      }
      parallelFor(n, threads, 64, [&](int64_t b, int64_t e, int) {
        for (int64_t i = b; i < e; ++i) {
          if (rowWhole[i]) continue;
          const int64_t deg = g.ptr[i + 1] - g.ptr[i];
          const Kept& kp = kept[i];
          if (kp.snap >= 0 && kp.b3 - vRise[kp.snap] - u[i] >= -tol) {  // proven by its last evaluation
            byRow[i] = nc - deg - keptNonEdge[i];
            continue;
          }
          const double ai = two ? c.alpha[i] : 0.0;
          auto colProves = [&](int32_t j) {
            const double vj = s.v[j];
            return static_cast<double>(c.col_bound[j]) - u[i] - vj >= -tol || (two && c.col_bound2[j] + ai - u[i] - vj >= -tol);
          };
          // The pairs its last evaluation on open pairs proves, if its b3Open still holds.
          const bool openOk = kp.snapOpen >= 0 && kp.b3Open - vRise[kp.snapOpen] - u[i] >= -tol;
          const double* vs = openOk ? vSnap[kp.snapOpen].data() : nullptr;
          auto provenBefore = [&](int32_t j) { return vs && vs[j] >= kp.t1Open && (two ? vs[j] - c.beta[j] : vs[j]) > kp.t2Open; };
          // Pairs open for both row bounds: v_j >= t1_i (its prefix of v) and w_j > t2_i. Those that
          // are edges or kept entries were checked in pass A; they are counted apart below, from the
          // row's own edges and kept entries (a few hundred), where asking of each open pair whether
          // it is one (two binary searches) cost 2 s a round at 65536.
          auto walk = [&](auto consider) {
            for (int64_t b0 = 0; b0 < len[i]; b0 += kBlock) {
              const int64_t b1 = std::min(nc, b0 + kBlock);
              if (b1 <= len[i]) {
                for (int64_t q = b0; q < b1 && blkW[q] > t2[i]; ++q) consider(blkJ[q]);
              } else {
                for (int64_t q = b0; q < len[i]; ++q)
                  if (w[orderV[q]] > t2[i]) consider(orderV[q]);
              }
            }
          };
          int64_t cand = 0, candByCol = 0;
          walk([&](int32_t j) {
            if (provenBefore(j)) return;
            ++cand;
            candByCol += colProves(j);
          });
          int64_t excl = 0, exclByCol = 0;
          forEdgesAndKept(i, [&](int32_t j) {
            if (s.v[j] >= t1[i] && w[j] > t2[i] && !provenBefore(j)) ++excl, exclByCol += colProves(j);
          });
          const int64_t rowFail = cand - excl, colProven = candByCol - exclByCol;
          if (selfCheck) {  // the same counts by asking of each open pair whether it is an edge or kept
            int64_t fail2 = 0, col2 = 0;
            walk([&](int32_t j) {
              if (provenBefore(j) || edgeOrKept(i, j)) return;
              ++fail2;
              col2 += colProves(j);
            });
            checked(fail2 == rowFail && col2 == colProven);
          }
          byRow[i] = (nc - deg - keptNonEdge[i]) - rowFail;
          byCol[i] = colProven;
          open[i] = rowFail > colProven;
          if (trace) openPairs[i] = rowFail - colProven;
          // Where open pairs cannot be computed alone bit for bit (only by recomputing the row whole:
          // C^T's panels, a BLAS that gives column subsets other values), a bound on their rounding
          // may prove them: a lower bound on each entry, whatever order the GEMM sums in.
          if (open[i] && boundProofs) {
            std::vector<int32_t> cols;
            walk([&](int32_t j) {
              if (!provenBefore(j) && !colProves(j) && !edgeOrKept(i, j)) cols.push_back(j);
            });
            std::vector<double> lo(cols.size());
            if (panels.lowerBounds(i, cols.data(), static_cast<int64_t>(cols.size()), lo.data())) {
              bool all = true;
              for (size_t q = 0; q < cols.size() && all; ++q) all = lo[q] - u[i] - s.v[cols[q]] >= -tol;
              if (all) {
                open[i] = 0;
                boundProven[i] = static_cast<int64_t>(cols.size());
              }
              if (selfCheck) {  // every bound below the entry the row has, and the pairs those counted
                std::vector<float> whole(static_cast<size_t>(nc));
                const int32_t ii = static_cast<int32_t>(i);
                panels.gathered(&ii, 1, whole.data());
                bool ok = static_cast<int64_t>(cols.size()) == rowFail - colProven;
                for (size_t q = 0; q < cols.size(); ++q) ok = ok && lo[q] <= static_cast<double>(whole[cols[q]]);
                checked(ok);
              }
            }
          }
        }
      });
    }
    std::vector<int32_t> openRows;
    for (int64_t i = 0; i < n && !keptFirst; ++i)
      if (open[i]) openRows.push_back(static_cast<int32_t>(i));
    if (trace && !openRows.empty()) {
      std::vector<int64_t> o;
      int64_t sum = 0;
      for (int32_t i : openRows) o.push_back(openPairs[i]), sum += openPairs[i];
      std::sort(o.begin(), o.end());
      auto q = [&](double f) { return o[static_cast<size_t>(f * (o.size() - 1))]; };
      std::fprintf(stderr, "  open: %zu rows, %lld pairs (%.2f%% of their entries); per row p10 %lld p50 %lld p90 %lld max %lld of %lld\n", openRows.size(),
                   static_cast<long long>(sum), 100.0 * sum / (static_cast<double>(openRows.size()) * nc), (long long)q(0.1), (long long)q(0.5), (long long)q(0.9), (long long)o.back(), (long long)nc);
    }
    if (static_cast<double>(openRows.size()) > opt.full_pass_share * static_cast<double>(n)) fullPass = true;
    if (fullPass) {  // every row not already whole is recomputed and checked pair by pair
      openRows.clear();
      for (int64_t i = 0; i < n; ++i)
        if (!rowWhole[i]) openRows.push_back(static_cast<int32_t>(i));
    }
    // Rows whose open pairs are few are evaluated on those pairs alone (panels.prefixBlock), not
    // whole: a row's open pairs lie in its prefix of v, and in each block of that prefix they are the
    // columns of w_j > t2_i, a prefix of the block's w order. So a block's columns are gathered once
    // and its rows, by how far into it they reach, computed a 16-row tile at a time (measured at 16k:
    // the open pairs were 2-5 % of the recomputed rows' entries). A row whose blocks would compute
    // more than a third of its entries is recomputed whole, as are all rows of a full pass.
    std::vector<int32_t> partialRows;
    const int64_t minCols = panels.minBlockColumns();
    auto wantIn = [&](int32_t i, int64_t b0) {  // row i's columns in the block at b0 (a prefix of its w order)
      const int64_t b1 = std::min(nc, b0 + kBlock);
      return static_cast<int64_t>(std::upper_bound(blkW.begin() + b0, blkW.begin() + b1, t2[i], [](double t, double x) { return t > x; }) - (blkW.begin() + b0));
    };
    if (!fullPass && !openRows.empty() && minCols <= kBlock / 2 && pairsEvaluable) {
      std::vector<int32_t> whole;
      for (int32_t i : openRows) {
        int64_t cost = 0;
        for (int64_t b0 = 0; b0 < len[i]; b0 += kBlock) {
          const int64_t m = wantIn(i, b0);
          if (m > 0) cost += std::max(m, minCols);
        }
        (3 * cost <= nc ? partialRows : whole).push_back(i);
      }
      openRows.swap(whole);
    }
    // The duals of a round that evaluates rows, for the bounds those rows keep. At most kSnaps
    // snapshots are held (memory: src/solve/sparse.ts sparseBytes); past that the older rows' b3
    // are forgotten (their other bounds still hold) and the count starts again.
    constexpr size_t kSnaps = 32;
    const bool evaluatesRows = !openRows.empty() || !partialRows.empty();
    if (evaluatesRows && vSnap.size() == kSnaps) {
      vSnap.clear();
      for (Kept& kp : kept) kp.snap = kp.snapOpen = -1;
    }
    const int32_t snap = static_cast<int32_t>(vSnap.size());
    if (evaluatesRows) vSnap.push_back(s.v);
    std::vector<Edge> partialViol;
    int64_t partialEvaluated = 0;
    double partialWorst = 0;
    if (!partialRows.empty()) {
      const auto tp = Clock::now();
      const int64_t np = static_cast<int64_t>(partialRows.size());
      // Few parts, two a thread: each gathers every block's columns it needs once (a block's
      // features are 19 MB at d_model 2304, and 20 parts of 256 rows gathered 12 GB a round at
      // 65536), and holds a heap of up to kPartialKeep entries for each of its rows (sparseBytes
      // counts 2048 such rows a thread, 32 MiB at the default keep).
      const int64_t grain = std::clamp<int64_t>((np + 2 * threads - 1) / (2 * threads), 16, 2048);
      const int pparts = parallelParts(np, threads, grain);
      std::vector<std::vector<Edge>> pv(static_cast<size_t>(pparts));
      std::vector<int64_t> pe(static_cast<size_t>(pparts), 0);
      std::vector<double> pw(static_cast<size_t>(pparts), 0.0);
      parallelFor(np, threads, grain, [&](int64_t r0, int64_t r1, int part) {
        const int64_t cnt = r1 - r0;
        struct Low {
          double key;
          int32_t j;
          float c;
        };
        auto byKey = [](const Low& x, const Low& y) { return x.key < y.key; };
        // Offers e to a max-heap by key that holds at most cap entries (the cap lowest so far).
        auto offerLowest = [&](std::vector<Low>& h, const Low& e, int64_t cap) {
          if (static_cast<int64_t>(h.size()) < cap) {
            h.push_back(e);
            std::push_heap(h.begin(), h.end(), byKey);
          } else if (e.key < h.front().key) {
            std::pop_heap(h.begin(), h.end(), byKey);
            h.back() = e;
            std::push_heap(h.begin(), h.end(), byKey);
          }
        };
        // A row's most negative reduced costs (at most addPerRow, a max-heap: the least negative on
        // top), as Low entries keyed by the reduced cost.
        std::vector<std::vector<Low>> viol(static_cast<size_t>(cnt));
        std::vector<std::vector<Low>> low(static_cast<size_t>(cnt));
        std::vector<int64_t> evalCount(static_cast<size_t>(cnt), 0);
        std::vector<uint8_t> dropped(static_cast<size_t>(cnt), 0);
        std::vector<int64_t> evalSlow(selfCheck ? static_cast<size_t>(cnt) : 0, 0);
        std::vector<int64_t> reach(static_cast<size_t>(cnt)), want;
        const int64_t nBlocks = (nc + kBlock - 1) / kBlock;
        std::vector<int64_t> reachAll(static_cast<size_t>(cnt * nBlocks), 0);  // each row's reach into each block
        std::vector<int32_t> order, ids, cols;
        std::vector<float> buf;
        for (int64_t b0 = 0; b0 < nc; b0 += kBlock) {
          const int64_t b1 = std::min(nc, b0 + kBlock);
          order.clear();
          for (int64_t r = 0; r < cnt; ++r) {
            const int32_t i = partialRows[r0 + r];
            reach[r] = 0;
            if (b0 < len[i]) reach[r] = wantIn(i, b0);
            reachAll[r * nBlocks + b0 / kBlock] = reach[r];
            if (reach[r] > 0) order.push_back(static_cast<int32_t>(r));
          }
          if (order.empty()) continue;
          std::stable_sort(order.begin(), order.end(), [&](int32_t x, int32_t y) { return reach[x] > reach[y]; });
          ids.resize(order.size());
          want.resize(order.size());
          for (size_t q = 0; q < order.size(); ++q) ids[q] = partialRows[r0 + order[q]], want[q] = reach[order[q]];
          // The block's columns in its w order, padded (past a short last block) to the fewest a call may take.
          const int64_t stride = std::max(want[0], minCols);
          cols.assign(blkJ.begin() + b0, blkJ.begin() + b1);
          for (int64_t q = 0; static_cast<int64_t>(cols.size()) < stride; ++q) cols.push_back(blkJ[q]);
          buf.resize(static_cast<size_t>(order.size()) * static_cast<size_t>(stride));
          if (!panels.prefixBlock(ids.data(), want.data(), static_cast<int64_t>(ids.size()), cols.data(), stride, buf.data()))
            throw std::logic_error("pricing: the panel source refused a block it offered");
          for (size_t q = 0; q < order.size(); ++q) {
            const int64_t r = order[q];
            const int32_t i = ids[q];
            // An edge or kept entry was checked in pass A (none violates in a round that evaluates
            // open pairs, so a violator here is neither) and must not take a place among the new
            // kept entries: asked only of the few entries that would (two binary searches for every
            // entry cost as much as its arithmetic). The count of those in the block is taken below.
            const float* row = buf.data() + q * stride;
            std::vector<Low>& lw = low[r];
            for (int64_t p = 0; p < want[q]; ++p) {
              const int32_t j = cols[p];
              if (selfCheck) evalSlow[r] += !edgeOrKept(i, j);
              const double red = static_cast<double>(row[p]) - u[i] - s.v[j];
              pw[part] = std::max(pw[part], -red);
              if (red < -tol && !edgeOrKept(i, j)) offerLowest(viol[r], {red, j, row[p]}, addPerRow);
              // Its lowest entries by c - v, at most kPartialKeep.
              // A full heap drops an entry (the one offered or its top): the row's b3Open is then that
              // top, which only falls, at most any dropped key.
              const double key = static_cast<double>(row[p]) - s.v[j];
              const bool full = static_cast<int64_t>(lw.size()) == kPartialKeep;
              dropped[r] |= full;
              if ((!full || key < lw.front().key) && !edgeOrKept(i, j)) offerLowest(lw, {key, j, row[p]}, kPartialKeep);
            }
            evalCount[r] += want[q];
          }
        }
        // The evaluated pairs less the row's edges and kept entries among them: a column j was
        // evaluated for row i when its block (by j's place in the blocks' w order) is in the row's
        // prefix of v and j within the first reach of that block.
        for (int64_t r = 0; r < cnt; ++r) {
          const int32_t i = partialRows[r0 + r];
          int64_t inBlocks = 0;
          forEdgesAndKept(i, [&](int32_t j) {
            const int64_t at = blkPos[j], b0 = at / kBlock * kBlock;
            inBlocks += b0 < len[i] && at - b0 < reachAll[r * nBlocks + b0 / kBlock];
          });
          evalCount[r] -= inBlocks;
          if (selfCheck) checked(evalSlow[r] == evalCount[r]);
        }
        for (int64_t r = 0; r < cnt; ++r) {
          const int32_t i = partialRows[r0 + r];
          for (const Low& e : viol[r]) pv[part].push_back({i, e.j, e.c});
          // Its evaluated entries join its kept entries, the kPartialKeep lowest by c - v when there
          // are more (its b3, a bound on entries neither edges nor kept, holds all the more): the
          // same pairs would otherwise be open again next round, their columns' bounds as before.
          std::vector<Low>& lw = low[r];
          // Past a budget of n k_keep such entries over the whole pricing, kEval a row, as whole rows keep.
          const int64_t room = partialKeptBudget - partialKept.load(std::memory_order_relaxed);
          const int64_t keepNow = room >= kPartialKeep ? kPartialKeep : kEval;
          Kept& kp = kept[i];
          kp.b3Open = dropped[r] ? lw.front().key : kInf;
          if (static_cast<int64_t>(lw.size()) > keepNow) {
            std::nth_element(lw.begin(), lw.begin() + keepNow, lw.end(), byKey);
            kp.b3Open = lw[keepNow].key;  // the least of those cut, at most the top
            lw.resize(static_cast<size_t>(keepNow));
          }
          kp.snapOpen = snap, kp.t1Open = t1[i], kp.t2Open = t2[i];
          // (Checked below, once the row's new kept entries are merged.)
          partialKept.fetch_add(static_cast<int64_t>(lw.size()), std::memory_order_relaxed);
          std::vector<std::pair<int32_t, float>> add;
          add.reserve(lw.size());
          for (const Low& l : lw) add.emplace_back(l.j, l.c);
          std::sort(add.begin(), add.end());
          mergeKept(kept[i].idx, kept[i].cost, add);
          if (selfCheck) {  // b3Open against the row recomputed whole: every pair it covers is at least it
            std::vector<float> whole(static_cast<size_t>(nc));
            panels.gathered(&i, 1, whole.data());
            bool ok = true;
            for (int64_t j = 0; j < nc; ++j) {
              const double wj = two ? s.v[j] - c.beta[j] : s.v[j];
              if (!(s.v[j] >= t1[i] && wj > t2[i])) continue;
              if (edgeOrKept(i, static_cast<int32_t>(j))) continue;
              ok = ok && static_cast<double>(whole[j]) - s.v[j] >= kp.b3Open;
            }
            checked(ok);
          }
          // Every pair of the row not evaluated here, an edge or kept was proven by its row bounds.
          const int64_t deg = g.ptr[i + 1] - g.ptr[i];
          byRow[i] = nc - deg - keptNonEdge[i] - evalCount[r];
          byCol[i] = 0;
          pe[part] += evalCount[r];
        }
      });
      pr.rows_partial += np;
      for (int q = 0; q < pparts; ++q) {
        partialViol.insert(partialViol.end(), pv[q].begin(), pv[q].end());
        partialEvaluated += pe[q];
        partialWorst = std::max(partialWorst, pw[q]);
      }
      if (trace)
        std::fprintf(stderr, "  %zu rows evaluated on their open pairs only: %lld pairs, %zu violators, %.2f s\n", partialRows.size(),
                     static_cast<long long>(partialEvaluated), partialViol.size(), since(tp));
    }
    // Evaluate the open rows whole, batched through the dense kernel; collect violators.
    std::vector<Edge> violators = std::move(partialViol);
    double worstEval = 0;
    int64_t evaluated = 0;
    for (int q = 0; q < parts; ++q) {
      worstEval = std::max(worstEval, keptWorst[q]);
      evaluated += keptChecked[q];
    }
    worstEval = std::max(worstEval, partialWorst);
    evaluated += partialEvaluated;
    // (A full pass recomputes those rows too, and counts their pairs there.)
    const int64_t byRounding = fullPass ? 0 : std::accumulate(boundProven.begin(), boundProven.end(), int64_t{0});
    evaluated += byRounding;
    // Rows about to be evaluated whole are checked pair by pair below: their kept entries' findings
    // are dropped here, so no pair is counted or added twice.
    std::vector<uint8_t> evaluating(static_cast<size_t>(n), 0);
    for (int32_t i : openRows) evaluating[i] = 1;
    for (int q = 0; q < parts; ++q)
      for (const Edge& e : keptViol[q])
        if (!evaluating[e.row]) violators.push_back(e);
    {
      const int64_t B = std::max<int64_t>(1, std::min<int64_t>(opt.panel_rows, static_cast<int64_t>(openRows.size())));
      if (!openRows.empty()) scratch.resize(static_cast<size_t>(B * nc));
      // Per part of a batch's rows: a column mark, the row's violators, its non-edges by c - v.
      struct RowWork {
        std::vector<uint8_t> isEdge;
        std::vector<std::pair<double, int32_t>> viol;  // max-heap: the least negative on top
        std::vector<std::pair<double, int32_t>> low;
        int64_t evaluated = 0;
        double worst = 0;
      };
      std::vector<RowWork> work(static_cast<size_t>(parallelParts(B, threads, 4)));
      for (RowWork& w : work) w.isEdge.assign(static_cast<size_t>(nc), 0);
      std::vector<std::vector<Edge>> rowAdds(static_cast<size_t>(B));
      for (size_t s0 = 0; s0 < openRows.size(); s0 += B) {
        if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
        const int64_t cnt = std::min<int64_t>(B, static_cast<int64_t>(openRows.size() - s0));
        const auto tg = Clock::now();
        if (openRows[s0 + cnt - 1] - openRows[s0] == cnt - 1) panels.rows(openRows[s0], cnt, scratch.data());
        else panels.gathered(openRows.data() + s0, cnt, scratch.data());
        traceGemm += since(tg);
        // Each row is checked pair by pair, its violators and new kept entries found, on its own:
        // the rows of a batch are split over the threads (each row touches only its own state).
        parallelFor(cnt, threads, 4, [&](int64_t r0, int64_t r1, int part) {
          RowWork& w = work[part];
          std::vector<uint8_t>& isEdge = w.isEdge;
          for (int64_t r = r0; r < r1; ++r) {
            const int32_t i = openRows[s0 + r];
            for (int64_t q = g.ptr[i]; q < g.ptr[i + 1]; ++q) isEdge[g.col[q]] = 1;
            const float* row = scratch.data() + r * nc;
            // The row's most negative reduced costs join the graph (at most addPerRow a round: a
            // row's whole list would make its Dijkstra steps dense, and the next round finds the rest).
            // The same pass gathers its non-edges by c_ij - v_j, for its new kept entries and b3.
            std::vector<std::pair<double, int32_t>>& low = w.low;
            low.clear();
            w.viol.clear();
            for (int64_t j = 0; j < nc; ++j) {
              if (isEdge[j]) continue;
              ++w.evaluated;
              low.emplace_back(static_cast<double>(row[j]) - s.v[j], static_cast<int32_t>(j));
              const double red = static_cast<double>(row[j]) - u[i] - s.v[j];
              w.worst = std::max(w.worst, -red);
              if (red < -tol) {
                w.viol.emplace_back(red, static_cast<int32_t>(j));
                std::push_heap(w.viol.begin(), w.viol.end());
                if (static_cast<int64_t>(w.viol.size()) > addPerRow) {
                  std::pop_heap(w.viol.begin(), w.viol.end());
                  w.viol.pop_back();
                }
              }
            }
            rowAdds[r].clear();
            for (const auto& [red, j] : w.viol) rowAdds[r].push_back({i, j, row[j]});
            // Its kept entries were counted in pass A and are counted again in this row.
            for (int32_t j : kept[i].idx) w.evaluated -= !isEdge[j];
            // Its kEval lowest non-edges by c_ij - v_j join its kept entries, the next lowest is b3.
            Kept& kp = kept[i];
            if (static_cast<int64_t>(low.size()) > kEval) {
              std::nth_element(low.begin(), low.begin() + kEval, low.end());
              kp.b3 = low[kEval].first;
              low.resize(static_cast<size_t>(kEval));
            } else {
              kp.b3 = kInf;
            }
            kp.snap = snap;
            std::vector<std::pair<int32_t, float>> add;
            add.reserve(low.size());
            for (const auto& [key, j] : low) add.emplace_back(j, row[j]);
            std::sort(add.begin(), add.end());
            mergeKept(kp.idx, kp.cost, add);
            if (selfCheck) {  // b3 covers every entry neither an edge nor kept
              bool ok = true;
              for (int64_t j = 0; j < nc; ++j)
                if (!isEdge[j] && !std::binary_search(kp.idx.begin(), kp.idx.end(), static_cast<int32_t>(j)))
                  ok = ok && static_cast<double>(row[j]) - s.v[j] >= kp.b3;
              checked(ok);
            }
            for (int64_t q2 = g.ptr[i]; q2 < g.ptr[i + 1]; ++q2) isEdge[g.col[q2]] = 0;
          }
        });
        // In row order, as one thread: the violators, and the rows recomputed twice joining whole.
        for (int64_t r = 0; r < cnt; ++r) {
          const int32_t i = openRows[s0 + r];
          violators.insert(violators.end(), rowAdds[r].begin(), rowAdds[r].end());
          if (!fullPass && ++timesEvaluated[i] >= 2 && wholeRows < wholeBudget) {  // recomputed twice: the whole row joins the graph
            ++wholeRows;
            rowWhole[i] = 1;
            const float* row = scratch.data() + r * nc;
            for (int64_t j = 0; j < nc; ++j) extra.push_back({i, static_cast<int32_t>(j), row[j]});
            ++pr.rows_made_whole;
          }
        }
        if (progress) progress("pricing", pr.rounds, 0);
      }
      for (const RowWork& w : work) evaluated += w.evaluated, worstEval = std::max(worstEval, w.worst);
    }
    for (int32_t i : openRows) byRow[i] = byCol[i] = 0;  // evaluated whole: no bound needed there
    const int64_t rowsEvaluated = static_cast<int64_t>(openRows.size() + partialRows.size());
    pr.proven_by_row_bound = std::accumulate(byRow.begin(), byRow.end(), int64_t{0});
    pr.proven_by_col_bound = std::accumulate(byCol.begin(), byCol.end(), int64_t{0});
    pr.evaluated = evaluated;
    pr.rows_evaluated = rowsEvaluated;
    pr.in_graph = g.edges();
    pr.max_violation = std::max({worstEdge, worstEval, freeGap()});
    if (trace)
      std::fprintf(stderr, "sparse round %lld: %zu rows evaluated (gemm %.2f s), %lld pairs proven by the rounding bound, %zu violators, round %.2f s so far\n",
                   static_cast<long long>(pr.rounds), openRows.size(), traceGemm, static_cast<long long>(byRounding), violators.size(), since(tPricing));
    if (violators.empty()) break;
    // Re-solve from the warm start: a row with a violating pair has u_i too high for it; freeing the
    // row (and its column) and augmenting it again over the enlarged graph restores feasibility.
    pr.violations_added += static_cast<int64_t>(violators.size());
    for (const Edge& e : violators) {
      extra.push_back(e);
      const int32_t j = s.x[e.row];
      if (j >= 0) {
        s.y[j] = -1;
        s.x[e.row] = -1;
      }
    }
    const auto ta = Clock::now();
    growGraph();
    augmentAll();
    if (trace) std::fprintf(stderr, "  re-solve %.2f s (%lld augmentations, %lld edge scans so far)\n", since(ta),
                            static_cast<long long>(res.solve.augmentations), static_cast<long long>(res.solve.edge_scans));
    // A freed column another row did not take keeps the dual its old row left it, below the free
    // columns' common one: the warm state cannot be certified, so the enlarged graph is solved again
    // from the cold start (more columns than rows only; there a solve is short, most paths ending
    // at the first free column they reach).
    if (freeGap() > tol) {
      ++pr.cold_restarts;
      coldStart(g, s, res.solve);
      augmentAll();
    }
  }
  pr.self_checks = checks.load();
  pr.self_check_failures = checkFailures.load();
  pr.ok = pr.max_violation <= tol;
  if (!pr.ok) pr.message = "pricing left a reduced cost of " + std::to_string(-pr.max_violation) + " (tolerance " + std::to_string(tol) + ")";
  pr.seconds = since(tPricing);
  res.seconds_pricing = pr.seconds;
  res.x = s.x;
  res.v = s.v;
  res.u = rowDuals(g, s, res.assigned_cost);
  res.total = 0;
  for (float a : res.assigned_cost) res.total += static_cast<double>(a);
  res.graph_edges = g.edges();
  return res;
}

}  // namespace saematch::sparse
