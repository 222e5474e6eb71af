// Jonker-Volgenant on the candidate graph. Why shortest augmenting paths with a heap rather than an
// auction: the paths keep the duals exactly feasible on every edge after every augmentation, so the
// duals the pricing step needs are the solver's own, with no epsilon to finish off; and a warm start
// after pricing adds edges is just "free the rows whose new edges violate, and augment them again".
// With k edges a row instead of n columns, a Dijkstra step costs O(k log) instead of O(n).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "sparse.hpp"
#include "../errors.hpp"
#include "../lap/lap.hpp"  // sequentialArrScans

namespace saematch::sparse {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

std::vector<double> columnMinima(const Graph& g) {
  std::vector<double> v(static_cast<size_t>(g.n_cols), kInf);
  for (int64_t i = 0; i < g.n_rows; ++i)
    for (int64_t e = g.ptr[i]; e < g.ptr[i + 1]; ++e) v[g.col[e]] = std::min(v[g.col[e]], static_cast<double>(g.cost[e]));
  return v;
}

void coldStart(const Graph& g, State& s, SolveStats& stats) {
  s.x.assign(static_cast<size_t>(g.n_rows), -1);
  s.xc.assign(static_cast<size_t>(g.n_rows), 0.0f);
  s.y.assign(static_cast<size_t>(g.n_cols), -1);
  // Square: v_j = the lowest cost of column j (the column candidates hold its true minimum over all
  // rows), so every reduced cost c_ij - v_j is >= 0 and a row's u_i is its least reduced cost.
  // More columns than rows: every v_j = 0. The columns left free must end with one common, highest
  // dual (the rectangular optimality condition); a Dijkstra step lowers only the columns it settles,
  // and it stops at the first free one, so free columns keep the common start.
  if (g.n_cols > g.n_rows) {
    s.v.assign(static_cast<size_t>(g.n_cols), 0.0);
  } else {
  s.v = columnMinima(g);
  for (int64_t j = 0; j < g.n_cols; ++j)
    if (s.v[j] == kInf) throw InputError("internal: column " + std::to_string(j) + " has no candidate");
  }
  // A row whose least reduced column is free takes it (complementary slackness holds with u_i that
  // least value); the rest are left to the augmenting paths.
  int64_t free = 0;
  for (int64_t i = 0; i < g.n_rows; ++i) {
    double best = kInf;
    int32_t bj = -1;
    float bc = 0;
    for (int64_t e = g.ptr[i]; e < g.ptr[i + 1]; ++e) {
      const double r = static_cast<double>(g.cost[e]) - s.v[g.col[e]];
      if (r < best) best = r, bj = g.col[e], bc = g.cost[e];
    }
    if (bj >= 0 && s.y[bj] < 0) {
      s.x[i] = bj;
      s.xc[i] = bc;
      s.y[bj] = static_cast<int32_t>(i);
    } else {
      ++free;
    }
  }
  stats.free_after_cold = free;
  reduceRows(g, s, stats);
}

// Jonker-Volgenant's augmenting row reduction (phase 3) over the graph's edges, two passes: a free
// row takes the column of its least reduced cost u1 and lowers that column's dual by the gap to its
// second least u2, so its own reduced cost there is u2, the least of its other edges (dual feasible
// on every edge of the row), while every other row's reduced costs only rise; a displaced row bids
// again at once when the drop was strict, next pass otherwise. A scan costs a row's degree where a
// Dijkstra search settles many columns; it settles the rows with a clear best edge (synthetic 16384:
// 557 rows left to the paths become 17), not the long searches of flat rows (the learned pair keeps
// its 2.0 million heap pops: BENCHMARKS.md, "sixth round"). Columns only fall, and a column once
// taken stays taken, so free columns keep their start (the rectangular pairs' common dual). Bounded
// as the dense phase is (jv.cpp); the rows still free go to the augmenting paths.
void reduceRows(const Graph& g, State& s, SolveStats& stats) {
  std::vector<int32_t> freeRows;
  for (int64_t i = 0; i < g.n_rows; ++i)
    if (s.x[i] < 0) freeRows.push_back(static_cast<int32_t>(i));
  const int64_t maxScans = sequentialArrScans(g.n_rows) / 2;  // a pass's share, as the dense phase's
  for (int pass = 0; pass < 2 && !freeRows.empty(); ++pass) {
    int64_t scans = 0;
    size_t k = 0, prv = freeRows.size(), numfree = 0;
    while (k < prv) {
      if (scans++ >= maxScans) {
        while (k < prv) freeRows[numfree++] = freeRows[k++];
        break;
      }
      const int32_t i = freeRows[k++];
      double u1 = kInf, u2 = kInf;
      int32_t j1 = -1, j2 = -1;
      float c1 = 0, c2 = 0;
      for (int64_t e = g.ptr[i]; e < g.ptr[i + 1]; ++e) {
        const double r = static_cast<double>(g.cost[e]) - s.v[g.col[e]];
        if (r < u2) {
          if (r < u1) {
            u2 = u1, j2 = j1, c2 = c1;
            u1 = r, j1 = g.col[e], c1 = g.cost[e];
          } else {
            u2 = r, j2 = g.col[e], c2 = g.cost[e];
          }
        }
      }
      int32_t i0 = j1 >= 0 ? s.y[j1] : -1;
      const bool strict = u1 < u2 && u2 < kInf;
      if (j1 < 0 || (!strict && i0 >= 0 && j2 < 0)) {  // no second edge to fall back on: a path's job
        freeRows[numfree++] = i;
        continue;
      }
      if (strict) {
        s.v[j1] -= u2 - u1;
      } else if (i0 >= 0) {  // a tie (or one edge): the other least column, no price moved
        j1 = j2, c1 = c2;
        i0 = s.y[j1];
      }
      if (i0 >= 0) s.x[i0] = -1;
      s.x[i] = j1;
      s.xc[i] = c1;
      s.y[j1] = i;
      if (i0 >= 0) {
        if (strict) freeRows[--k] = i0;
        else freeRows[numfree++] = i0;
      }
    }
    stats.arr_scans += scans;
    freeRows.resize(numfree);
  }
  stats.free_after_init = static_cast<int64_t>(freeRows.size());
}

std::vector<int32_t> augmentFree(const Graph& g, State& s, SolveStats& stats, const std::atomic<bool>* cancel) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t nc = g.n_cols;
  // Everything a relaxation reads or writes about column l sits in one 32-byte record (two a cache
  // line): on graphs larger than the cache an edge then costs one miss, not one per array (d, v,
  // done, the heap slot, the predecessor). v lives here while the paths run and is written back.
  struct Col {
    double d;          // tentative distance
    double v;          // the column's dual
    int32_t pred;      // the row the path enters it from
    float predCost;    // c[pred, l]: that edge's cost
    int32_t pos;       // its heap slot, -1 when out of the heap
    int32_t done;      // settled in this search
  };
  static_assert(sizeof(Col) == 32, "one column's state is half a cache line");
  std::vector<Col> col(static_cast<size_t>(nc));
  for (int64_t j = 0; j < nc; ++j) col[j] = {kInf, s.v[j], -1, 0.0f, -1, 0};
  std::vector<int32_t> touched, ready;
  // An indexed 4-ary min-heap of (distance, column) with decrease-key: at most one entry a column,
  // so the heap stays as small as the frontier (a lazy-deletion heap grew to millions of stale
  // entries on learned matrices, whose flat rows lower a column's distance many times); four
  // children a node halve the depth a sift walks, and keys kept in the heap make a sift's compares
  // sequential reads.
  struct Slot {
    double key;
    int32_t j;
  };
  std::vector<Slot> heap;
  auto place = [&](size_t at, Slot e) { heap[at] = e, col[e.j].pos = static_cast<int32_t>(at); };
  auto siftUp = [&](size_t at, Slot e) {
    while (at > 0) {
      const size_t up = (at - 1) / 4;
      if (!(e.key < heap[up].key)) break;
      place(at, heap[up]);
      at = up;
    }
    place(at, e);
  };
  auto push = [&](double key, int32_t j) {  // col[j].d already holds key
    if (col[j].pos < 0) {
      heap.push_back({key, j});
      siftUp(heap.size() - 1, {key, j});
    } else {
      siftUp(static_cast<size_t>(col[j].pos), {key, j});
    }
  };
  auto popMin = [&]() {
    const int32_t top = heap[0].j;
    col[top].pos = -1;
    const Slot last = heap.back();
    heap.pop_back();
    if (!heap.empty()) {
      size_t at = 0;
      for (;;) {
        const size_t c0 = 4 * at + 1;
        if (c0 >= heap.size()) break;
        size_t best = c0;
        const size_t cEnd = std::min(c0 + 4, heap.size());
        for (size_t q = c0 + 1; q < cEnd; ++q)
          if (heap[q].key < heap[best].key) best = q;
        if (!(heap[best].key < last.key)) break;
        place(at, heap[best]);
        at = best;
      }
      place(at, last);
    }
    return top;
  };
  // A row's edges side by side (a scan reads one stream), each with a key: its reduced cost c - v_l
  // when the row was last keyed. Duals only fall while paths augment (a settled column moves by
  // d - mu <= 0), so a key stays a lower bound on the edge's reduced cost, and a row keeps its edges
  // sorted by key. A search needs no column at or past ub, the least distance of a free column it
  // has reached (it ends there, or earlier): a scan from a row at h stops at the first edge with
  // key - h >= ub, every later edge being at least that far. Measured on the learned pair (flat rows,
  // long searches): 187 million edge scans became 10-13 million, the paths 1.24 -> 0.4 s
  // (BENCHMARKS.md, "seventh round"). Stale keys only make scans longer, so a row is keyed again
  // when it is scanned kKeyAge augmentations or more after its last keying (100-400 measured alike;
  // 50 and 800 slower: keying too often costs the scans it saves, too seldom lets the keys go
  // stale). A row is first keyed when first scanned: the rows no search reaches are never sorted.
  // The stop is exact in floating point too: v_l only falls, so fl(c - v_l) >= fl(key) and
  // fl(fl(c - v_l) - h) >= fl(key - h) by the monotonicity of rounding, and an edge past the stop
  // would have failed nd < ub.
  struct Arc {
    int32_t j;
    float c;
    double key;
  };
  constexpr int64_t kKeyAge = 128;
  constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 2;
  LargeVector<Arc> arcs(static_cast<size_t>(g.edges()));
  for (int64_t e = 0; e < g.edges(); ++e) arcs[e] = {g.col[e], g.cost[e], 0.0};
  std::vector<int64_t> keyedAt(static_cast<size_t>(g.n_rows), kNever);
  int64_t augmented = 0;
  auto keyRow = [&](int64_t i) {
    if (augmented - keyedAt[i] < kKeyAge) return;
    Arc* a = arcs.data() + g.ptr[i];
    const int64_t m = g.ptr[i + 1] - g.ptr[i];
    for (int64_t q = 0; q < m; ++q) a[q].key = static_cast<double>(a[q].c) - col[a[q].j].v;
    if (keyedAt[i] == kNever) {
      std::sort(a, a + m, [](const Arc& x, const Arc& y) { return x.key < y.key; });
    } else {  // nearly in order already: an insertion sort moves the few keys that changed
      for (int64_t q = 1; q < m; ++q) {
        const Arc t = a[q];
        int64_t p = q;
        for (; p > 0 && a[p - 1].key > t.key; --p) a[p] = a[p - 1];
        a[p] = t;
      }
    }
    keyedAt[i] = augmented;
    ++stats.row_keyings;
  };
  double ub = kInf;
  // Scans row i's edges from a point at offset h (the distance of an edge l is c - v_l - h).
  auto scanRow = [&](int32_t i, double h) {
    keyRow(i);
    for (int64_t e = g.ptr[i]; e < g.ptr[i + 1]; ++e) {
      const Arc a = arcs[e];
      if (a.key - h >= ub) break;
      ++stats.edge_scans;
      const int32_t l = a.j;
      const double nd = static_cast<double>(a.c) - col[l].v - h;
      Col& cl = col[l];
      if (nd < cl.d && nd < ub && !cl.done) {
        if (cl.d == kInf) touched.push_back(l);
        if (s.y[l] < 0) ub = nd;
        cl.d = nd;
        cl.pred = i;
        cl.predCost = a.c;
        push(nd, l);
      }
    }
  };
  std::vector<int32_t> stuck;
  std::vector<int32_t> freeRows;
  for (int64_t i = 0; i < g.n_rows; ++i)
    if (s.x[i] < 0) freeRows.push_back(static_cast<int32_t>(i));
  int64_t sinceCheck = 0;
  for (const int32_t f : freeRows) {
    if (++sinceCheck >= 64) {
      sinceCheck = 0;
      if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
    }
    for (const Slot& e : heap) col[e.j].pos = -1;
    heap.clear();
    ub = kInf;
    scanRow(f, 0.0);
    int32_t end = -1;
    double mu = 0;
    while (!heap.empty()) {
      const int32_t j = popMin();
      // The next pop's row, fetched while this one is scanned (rows are far apart in arcs).
      if (!heap.empty() && s.y[heap[0].j] >= 0) __builtin_prefetch(&arcs[g.ptr[s.y[heap[0].j]]]);
      const double dist = col[j].d;
      ++stats.heap_pops;
      col[j].done = 1;
      ready.push_back(j);
      mu = dist;
      if (s.y[j] < 0) {
        end = j;
        break;
      }
      // Through column j's row i: distances to i's other columns, relative to i's reduced costs
      // (h = u_i - mu, with u_i = c_ij - v_j as j = x_i).
      const int32_t i = s.y[j];
      scanRow(i, static_cast<double>(s.xc[i]) - col[j].v - mu);
    }
    if (end >= 0) {
      // Dual update: every column settled before the end moves by its distance's shortfall, which
      // keeps every edge's reduced cost >= 0 and makes the path's edges tight.
      for (const int32_t k : ready) col[k].v += col[k].d - mu;
      for (int32_t j = end;;) {
        const int32_t i = col[j].pred;
        s.y[j] = i;
        const int32_t prev = s.x[i];
        s.x[i] = j;
        s.xc[i] = col[j].predCost;
        if (i == f) break;
        j = prev;
      }
      ++stats.augmentations;
      ++augmented;
    } else {
      stuck.push_back(f);
    }
    for (const int32_t j : touched) col[j].d = kInf, col[j].pred = -1, col[j].done = 0;
    touched.clear();
    ready.clear();
  }
  for (int64_t j = 0; j < nc; ++j) s.v[j] = col[j].v;
  stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stuck;
}

}  // namespace saematch::sparse
