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

namespace saematch::sparse {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

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
  s.v.assign(static_cast<size_t>(g.n_cols), kInf);
  for (int64_t i = 0; i < g.n_rows; ++i)
    for (int64_t e = g.ptr[i]; e < g.ptr[i + 1]; ++e) s.v[g.col[e]] = std::min(s.v[g.col[e]], static_cast<double>(g.cost[e]));
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
  stats.free_after_init = free;
}

std::vector<int32_t> augmentFree(const Graph& g, State& s, SolveStats& stats, const std::atomic<bool>* cancel) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t nc = g.n_cols;
  std::vector<double> d(static_cast<size_t>(nc), kInf);
  std::vector<int32_t> pred(static_cast<size_t>(nc), -1);
  std::vector<float> predCost(static_cast<size_t>(nc), 0.0f);  // c[pred_j, j]: the path's edge into j
  std::vector<uint8_t> done(static_cast<size_t>(nc), 0);
  std::vector<int32_t> touched, ready;
  // An indexed 4-ary min-heap of columns keyed by d, with decrease-key: at most one entry a column,
  // so the heap stays as small as the frontier (a lazy-deletion heap grew to millions of stale
  // entries on learned matrices, whose flat rows lower a column's distance many times), and four
  // children a node halve the depth a sift walks.
  std::vector<int32_t> heap;                                  // columns
  std::vector<int32_t> pos(static_cast<size_t>(nc), -1);      // column -> heap slot, -1 when out
  auto place = [&](size_t at, int32_t j) { heap[at] = j, pos[j] = static_cast<int32_t>(at); };
  auto siftUp = [&](size_t at) {
    const int32_t j = heap[at];
    const double key = d[j];
    while (at > 0) {
      const size_t up = (at - 1) / 4;
      if (!(key < d[heap[up]])) break;
      place(at, heap[up]);
      at = up;
    }
    place(at, j);
  };
  auto push = [&](double, int32_t j) {  // d[j] already holds the new distance
    if (pos[j] < 0) {
      heap.push_back(j);
      siftUp(heap.size() - 1);
    } else {
      siftUp(static_cast<size_t>(pos[j]));
    }
  };
  auto popMin = [&]() {
    const int32_t top = heap[0];
    pos[top] = -1;
    const int32_t last = heap.back();
    heap.pop_back();
    if (!heap.empty()) {
      size_t at = 0;
      const double key = d[last];
      for (;;) {
        const size_t c0 = 4 * at + 1;
        if (c0 >= heap.size()) break;
        size_t best = c0;
        const size_t cEnd = std::min(c0 + 4, heap.size());
        for (size_t q = c0 + 1; q < cEnd; ++q)
          if (d[heap[q]] < d[heap[best]]) best = q;
        if (!(d[heap[best]] < key)) break;
        place(at, heap[best]);
        at = best;
      }
      place(at, last);
    }
    return top;
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
    for (const int32_t j : heap) pos[j] = -1;
    heap.clear();
    for (int64_t e = g.ptr[f]; e < g.ptr[f + 1]; ++e) {
      const int32_t j = g.col[e];
      const double dj = static_cast<double>(g.cost[e]) - s.v[j];
      if (dj < d[j]) {
        if (d[j] == kInf) touched.push_back(j);
        d[j] = dj;
        pred[j] = f;
        predCost[j] = g.cost[e];
        push(dj, j);
      }
    }
    int32_t end = -1;
    double mu = 0;
    while (!heap.empty()) {
      const int32_t j = popMin();
      const double dist = d[j];
      ++stats.heap_pops;
      done[j] = 1;
      ready.push_back(j);
      mu = dist;
      if (s.y[j] < 0) {
        end = j;
        break;
      }
      // Through column j's row i: distances to i's other columns, relative to i's reduced costs
      // (h = u_i - mu, with u_i = c_ij - v_j as j = x_i).
      const int32_t i = s.y[j];
      const double h = static_cast<double>(s.xc[i]) - s.v[j] - mu;
      for (int64_t e = g.ptr[i]; e < g.ptr[i + 1]; ++e) {
        const int32_t l = g.col[e];
        ++stats.edge_scans;
        if (done[l]) continue;
        const double nd = static_cast<double>(g.cost[e]) - s.v[l] - h;
        if (nd < d[l]) {
          if (d[l] == kInf) touched.push_back(l);
          d[l] = nd;
          pred[l] = i;
          predCost[l] = g.cost[e];
          push(nd, l);
        }
      }
    }
    if (end >= 0) {
      // Dual update: every column settled before the end moves by its distance's shortfall, which
      // keeps every edge's reduced cost >= 0 and makes the path's edges tight.
      for (const int32_t k : ready) s.v[k] += d[k] - mu;
      for (int32_t j = end;;) {
        const int32_t i = pred[j];
        s.y[j] = i;
        const int32_t prev = s.x[i];
        s.x[i] = j;
        s.xc[i] = predCost[j];
        if (i == f) break;
        j = prev;
      }
      ++stats.augmentations;
    } else {
      stuck.push_back(f);
    }
    for (const int32_t j : touched) d[j] = kInf, pred[j] = -1, done[j] = 0;
    touched.clear();
    ready.clear();
  }
  stats.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stuck;
}

}  // namespace saematch::sparse
