// The streaming cost pass: panel by panel through the dense kernel's own GEMM and epilogue
// (CostPanels), each panel's epilogue keeping the k lowest entries of every row and of every column
// (by cost, and by cost less the other side's norm) and the k-th lowest value of each list, the
// bound of all that list dropped. Only one panel is ever held.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <memory>
#include <mutex>
#include <utility>

#include "sparse.hpp"
#include "stream_filter.hpp"
#include "../errors.hpp"
#include "../parallel.hpp"

namespace saematch::sparse {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// A kept entry: its key (what the list orders by), its index (row or column) and its cost. Ordered by
// key, then index: the order of one sequential scan's ties.
struct Entry {
  double key;
  int32_t idx;
  float cost;
  bool operator<(const Entry& o) const { return key < o.key || (key == o.key && idx < o.idx); }
};

// Offers e to the max-heap h of at most k entries (the k best so far; h[0] the worst of them).
inline void offer(Entry* h, int64_t& size, int64_t k, const Entry& e) {
  if (size < k) {
    h[size++] = e;
    std::push_heap(h, h + size);
  } else if (e < h[0]) {
    std::pop_heap(h, h + size);
    h[size - 1] = e;
    std::push_heap(h, h + size);
  }
}

// Sorts a list ascending into idx/cost; returns the bound of what it dropped (the k-th key when the
// list is full and something was dropped, else +inf).
inline double finish(Entry* h, int64_t size, int64_t k, int64_t seen, int32_t* idx, float* cost) {
  std::sort_heap(h, h + size);
  for (int64_t r = 0; r < k; ++r) {
    idx[r] = r < size ? h[r].idx : -1;
    cost[r] = r < size ? h[r].cost : std::numeric_limits<float>::infinity();
  }
  return seen > size ? h[size - 1].key : kInf;
}

// One kind of list over all rows (or columns): heaps, sizes and the key a newcomer must beat.
struct Lists {
  int64_t k = 0;
  std::vector<Entry> heap;
  std::vector<int64_t> size;
  std::vector<double> worst;
  void init(int64_t n, int64_t kk) {
    k = kk;
    heap.resize(static_cast<size_t>(n * k));
    size.assign(static_cast<size_t>(n), 0);
    worst.assign(static_cast<size_t>(n), kInf);
  }
  // Offers entry (key, idx, cost) to list q; one comparison when it cannot enter.
  void offerTo(int64_t q, double key, int32_t idx, float cost) {
    if (!(key < worst[q]) && !(key == worst[q])) return;
    Entry* h = heap.data() + q * k;
    offer(h, size[q], k, {key, idx, cost});
    if (size[q] == k) worst[q] = h[0].key;
  }
};

}  // namespace

Candidates streamCandidates(const PanelSource& panels, int64_t k, int64_t k_row, int64_t k_keep, int64_t panel_rows,
                            const std::atomic<bool>* cancel, const std::function<void(int64_t)>& progress) {
  const auto t0 = std::chrono::steady_clock::now();
  const int64_t n_a = panels.nRows(), n_b = panels.nCols();
  const int threads = panels.threads();
  Candidates c;
  c.n_rows = n_a;
  c.n_cols = n_b;
  c.k_row = std::min(k_row, n_b);
  c.k_col = std::min(k, n_a);
  c.k_keep = std::max(c.k_row, std::min(k_keep, n_b));
  c.alpha = panels.rowOffsets();
  c.beta = panels.colOffsets();
  c.offsets = !c.alpha.empty();
  const bool two = c.offsets;
  const double* alpha = two ? c.alpha.data() : nullptr;
  const double* beta = two ? c.beta.data() : nullptr;
  auto sized = [](auto& v, int64_t n) { v.resize(static_cast<size_t>(n)); };
  sized(c.row_idx, n_a * c.k_row), sized(c.row_cost, n_a * c.k_row), sized(c.row_bound, n_a);
  sized(c.keep_idx, n_a * c.k_keep), sized(c.keep_cost, n_a * c.k_keep), sized(c.keep_bound, n_a);
  sized(c.col_idx, n_b * c.k_col), sized(c.col_cost, n_b * c.k_col), sized(c.col_bound, n_b);
  if (two) {
    sized(c.row_idx2, n_a * c.k_row), sized(c.row_cost2, n_a * c.k_row), sized(c.row_bound2, n_a);
    sized(c.keep_idx2, n_a * c.k_keep), sized(c.keep_cost2, n_a * c.k_keep), sized(c.keep_bound2, n_a);
    sized(c.col_idx2, n_b * c.k_col), sized(c.col_cost2, n_b * c.k_col), sized(c.col_bound2, n_b);
  }
  // Column lists live across panels; rows' only within their panel.
  Lists cols, cols2;
  cols.init(n_b, c.k_col);
  if (two) cols2.init(n_b, c.k_col);
  const int64_t P = std::max<int64_t>(1, std::min(panel_rows, n_a));
  LargeBuffer<float> panel(static_cast<size_t>(P * n_b));  // each panel's GEMM writes it whole
  // SAE_MATCH_SPARSE_TRACE set: where the stream's time goes, and how well the row thresholds filter.
  const bool trace = std::getenv("SAE_MATCH_SPARSE_TRACE") != nullptr;
  double tGemm = 0, tCols = 0;
  std::atomic<int64_t> passedFilter{0}, scannedTwice{0};
  auto since = [](std::chrono::steady_clock::time_point t) { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count(); };

  const double tSetup = since(t0);
  // Rows: a row's long lists are gathered in a buffer of 2 kk behind a threshold (cut back to the kk
  // best whenever it fills), amortised O(1) an entry where a heap of kk costs log kk per entry that
  // enters (flat rows let many in). Same set as a heap's: the kk smallest by (key, column), since a
  // later entry with an equal key has the larger column. A row is taken as soon as the panel's
  // epilogue has finished it (PanelSource::rowsThen), on the thread that did, while it is still in
  // cache: read again after the whole panel it came from memory, a second pass over 128-512 MiB a
  // panel, and the strided sample its threshold comes from missed the cache at every entry.
  const int64_t kk = c.k_keep, kr = c.k_row;
  // The buffers are filled field by field at a running count (a push_back of a built Entry stored it
  // through the stack, two narrow stores read back as one wide load: a store forwarding stall on
  // every entry that passed the filter).
  struct Buf {
    std::vector<Entry> e;
    int64_t n = 0;
    void put(double key, int64_t j, float x) {
      Entry& d = e[n++];
      d.key = key, d.idx = static_cast<int32_t>(j), d.cost = x;
    }
  };
  // A row's threshold is about the 2 kk m / n_b-th of m samples: m = 16 n_b / kk puts it near the
  // 33rd, steady enough that few rows need the second scan (at 65536 columns 1024 samples, the 9th,
  // left 1.9 % of rows short), and a narrow row samples no more than that needs (8192 columns: 512,
  // which took an eighth off the learned pair's stream); at most 2048.
  const int64_t nSample = n_b >= 8 * kk ? std::min<int64_t>(n_b, std::clamp<int64_t>(16 * n_b / kk, 256, 2048)) : 0;
  std::vector<int32_t> where(static_cast<size_t>(nSample));
  for (int64_t q = 0; q < nSample; ++q) where[q] = static_cast<int32_t>(q * n_b / nSample);
  // One scratch a thread at work on a row, taken from a pool (the threads that finish rows are the
  // panel's, started anew for each panel).
  struct Scratch {
    Buf buf, buf2;
    std::vector<int32_t> hits;
    std::vector<double> sample, sample2;
  };
  std::mutex poolMutex;
  std::vector<std::unique_ptr<Scratch>> pool;
  auto take = [&] {
    std::lock_guard<std::mutex> lock(poolMutex);
    if (!pool.empty()) {
      std::unique_ptr<Scratch> s = std::move(pool.back());
      pool.pop_back();
      return s;
    }
    auto s = std::make_unique<Scratch>();
    s->buf.e.resize(static_cast<size_t>(2 * kk));
    s->buf2.e.resize(static_cast<size_t>(2 * kk));
    s->hits.resize(static_cast<size_t>(n_b));
    s->sample.resize(static_cast<size_t>(nSample));
    s->sample2.resize(static_cast<size_t>(nSample));
    return s;
  };
  auto giveBack = [&](std::unique_ptr<Scratch> s) {
    std::lock_guard<std::mutex> lock(poolMutex);
    pool.push_back(std::move(s));
  };
  std::atomic<int64_t> rowNanos{0};
  // Row i's lists from its entries cr (the panel's row).
  auto rowLists = [&](int64_t i, const float* cr, Scratch& sc) {
    Buf& buf = sc.buf;
    Buf& buf2 = sc.buf2;
    std::vector<double>& sample = sc.sample;
    std::vector<double>& sample2 = sc.sample2;
    auto cut = [&](Buf& b) {
      std::nth_element(b.e.begin(), b.e.begin() + (kk - 1), b.e.begin() + b.n);
      b.n = kk;
      return b.e[kk - 1].key;
    };
    // b's kk best into idx/cost, the kr best first; returns the bound of what was dropped (+inf when
    // nothing was). sorted: all ascending (the c list: --topk writes its first k); else only the
    // kr-th in place with the kr best before it (the c - beta list: pricing reorders it by column).
    auto finishBuf = [&](Buf& b, int64_t seen, int32_t* idx, float* cost, bool sorted) {
      if (b.n > kk) cut(b);
      const int64_t m = b.n;
      const auto first = b.e.begin(), last = b.e.begin() + m;
      const double bound = seen > kk ? std::max_element(first, last)->key : kInf;
      if (sorted) std::sort(first, last);
      else if (m >= kr) std::nth_element(first, first + (kr - 1), last);
      for (int64_t q = 0; q < kk; ++q) {
        idx[q] = q < m ? b.e[q].idx : -1;
        cost[q] = q < m ? b.e[q].cost : std::numeric_limits<float>::infinity();
      }
      return bound;
    };
    auto quantile = [&](std::vector<double>& v, int64_t m) {
      const int64_t q = std::min<int64_t>(m - 1, (2 * kk * m) / n_b + 1);
      std::nth_element(v.begin(), v.begin() + q, v.begin() + m);
      return v[q];
    };
    // A row whose entries fall along its columns (features stored in order of norm, say) would let
    // nearly every entry in and cut the buffer every kk entries; a threshold from a strided sample
    // (about 2 kk entries of the row below it) keeps the scan to one comparison an entry. When it
    // lets fewer than kk in, the row is scanned again without it.
    double t = kInf, t2 = kInf;
    if (nSample) {
      int64_t m = 0;
      for (int64_t q = 0; q < nSample; ++q) {
        const int32_t j = where[q];
        const float x = cr[j];
        if (std::isnan(x)) continue;
        sample[m] = static_cast<double>(x);
        if (two) sample2[m] = static_cast<double>(x) - beta[j];
        ++m;
      }
      if (m > 0) t = quantile(sample, m);
      if (m > 0 && two) t2 = quantile(sample2, m);
    }
    int64_t seen = 0;
    for (int pass = 0; pass < 2; ++pass) {
      buf.n = 0, buf2.n = 0;
      double w = t, w2 = t2;
      const int64_t passed = filterRow(cr, n_b, w, two ? beta : nullptr, w2, sc.hits.data(), &seen);
      if (trace) passedFilter.fetch_add(passed, std::memory_order_relaxed);
      if (trace && pass == 1) scannedTwice.fetch_add(1, std::memory_order_relaxed);
      for (int64_t h = 0; h < passed; ++h) {
        const int64_t j = sc.hits[h];
        const float x = cr[j];
        if (static_cast<double>(x) < w) {
          buf.put(static_cast<double>(x), j, x);
          if (buf.n == 2 * kk) w = cut(buf);
        }
        if (two) {
          const double key = static_cast<double>(x) - beta[j];
          if (key < w2) {
            buf2.put(key, j, x);
            if (buf2.n == 2 * kk) w2 = cut(buf2);
          }
        }
      }
      // Enough below both thresholds (or no threshold): the kk best of the row are in the buffers.
      const int64_t want = std::min(kk, seen);
      if ((t == kInf || buf.n >= want) && (!two || t2 == kInf || buf2.n >= want)) break;
      t = kInf, t2 = kInf;
    }
    c.keep_bound[i] = static_cast<float>(finishBuf(buf, seen, c.keep_idx.data() + i * kk, c.keep_cost.data() + i * kk, true));
    if (two) c.keep_bound2[i] = finishBuf(buf2, seen, c.keep_idx2.data() + i * kk, c.keep_cost2.data() + i * kk, false);
    // The graph's lists: the first kr of the longer ones, bounded by the kr-th key (every entry
    // past it in the sorted list, and every entry the list dropped, is >= it).
    std::copy_n(c.keep_idx.data() + i * kk, kr, c.row_idx.data() + i * kr);
    std::copy_n(c.keep_cost.data() + i * kk, kr, c.row_cost.data() + i * kr);
    c.row_bound[i] = seen > kr ? c.keep_cost[i * kk + kr - 1] : std::numeric_limits<float>::infinity();
    if (two) {
      std::copy_n(c.keep_idx2.data() + i * kk, kr, c.row_idx2.data() + i * kr);
      std::copy_n(c.keep_cost2.data() + i * kk, kr, c.row_cost2.data() + i * kr);
      const int32_t jb = c.keep_idx2[i * kk + kr - 1];
      c.row_bound2[i] = seen > kr && jb >= 0 ? static_cast<double>(c.keep_cost2[i * kk + kr - 1]) - beta[jb] : kInf;
    }
  };

  for (int64_t i0 = 0; i0 < n_a; i0 += P) {
    if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
    const int64_t rows = std::min(P, n_a - i0);
    auto tp = std::chrono::steady_clock::now();
    panels.rowsThen(i0, rows, panel.data(), [&](int64_t r) {
      const auto t = trace ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
      std::unique_ptr<Scratch> sc = take();
      rowLists(i0 + r, panel.data() + r * n_b, *sc);
      giveBack(std::move(sc));
      if (trace) rowNanos.fetch_add(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t).count(), std::memory_order_relaxed);
    });
    tGemm += since(tp);
    tp = std::chrono::steady_clock::now();
    // Columns: each part its own columns, scanning the panel's rows in order.
    // Columns in chunks that keep their thresholds in L1 while every row of the panel passes over.
    parallelFor(n_b, threads, 256, [&](int64_t j0, int64_t j1, int) {
      constexpr int64_t kChunk = 512;
      std::vector<int32_t> hits(static_cast<size_t>(kChunk));
      for (int64_t c0 = j0; c0 < j1; c0 += kChunk) {
        const int64_t width = std::min(kChunk, j1 - c0);
        for (int64_t r = 0; r < rows; ++r) {
          const float* cr = panel.data() + r * n_b + c0;
          const int32_t i = static_cast<int32_t>(i0 + r);
          const int64_t passed = filterCols(cr, width, cols.worst.data() + c0, two ? alpha[i] : 0.0,
                                            two ? cols2.worst.data() + c0 : nullptr, hits.data());
          for (int64_t h = 0; h < passed; ++h) {
            const int64_t j = c0 + hits[h];
            const float x = cr[hits[h]];
            cols.offerTo(j, static_cast<double>(x), i, x);
            if (two) cols2.offerTo(j, static_cast<double>(x) - alpha[i], i, x);
          }
        }
      }
    });
    tCols += since(tp);
    if (progress) progress(i0 + rows);
  }
  if (trace) std::fprintf(stderr, "stream: buffers %.2f s, panels %.2f s (of it, row lists %.2f s of thread time), column lists %.2f s (panel %lld rows; %lld entries passed the row filter, %lld rows scanned twice)\n", tSetup, tGemm, static_cast<double>(rowNanos.load()) * 1e-9, tCols, static_cast<long long>(P), static_cast<long long>(passedFilter.load()), static_cast<long long>(scannedTwice.load()));
  parallelFor(n_b, threads, 256, [&](int64_t j0, int64_t j1, int) {
    for (int64_t j = j0; j < j1; ++j) {
      c.col_bound[j] = static_cast<float>(finish(cols.heap.data() + j * c.k_col, cols.size[j], c.k_col, n_a,
                                                 c.col_idx.data() + j * c.k_col, c.col_cost.data() + j * c.k_col));
      if (two)
        c.col_bound2[j] = finish(cols2.heap.data() + j * c.k_col, cols2.size[j], c.k_col, n_a,
                                 c.col_idx2.data() + j * c.k_col, c.col_cost2.data() + j * c.k_col);
    }
  });
  c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return c;
}

Graph buildGraph(const Candidates& c, const std::vector<Edge>& extra) {
  Graph g;
  g.n_rows = c.n_rows;
  g.n_cols = c.n_cols;
  // Every list's entries as (row, column, cost), then sorted per row and deduplicated (a pair kept by
  // several lists has one value: all came from the same panel entry).
  std::vector<int64_t> count(static_cast<size_t>(c.n_rows), 0);
  auto rowLists = [&](const LargeVector<int32_t>& idx, auto f) {
    for (int64_t i = 0; i < c.n_rows && !idx.empty(); ++i)
      for (int64_t r = 0; r < c.k_row; ++r)
        if (idx[i * c.k_row + r] >= 0) f(i, idx[i * c.k_row + r], i * c.k_row + r);
  };
  auto colLists = [&](const LargeVector<int32_t>& idx, auto f) {
    for (int64_t j = 0; j < c.n_cols && !idx.empty(); ++j)
      for (int64_t r = 0; r < c.k_col; ++r)
        if (idx[j * c.k_col + r] >= 0) f(idx[j * c.k_col + r], j, j * c.k_col + r);
  };
  auto counter = [&](int64_t i, int64_t, int64_t) { ++count[i]; };
  rowLists(c.row_idx, counter), rowLists(c.row_idx2, counter), colLists(c.col_idx, counter), colLists(c.col_idx2, counter);
  for (const Edge& e : extra) ++count[e.row];
  std::vector<int64_t> ptr(static_cast<size_t>(c.n_rows + 1), 0);
  for (int64_t i = 0; i < c.n_rows; ++i) ptr[i + 1] = ptr[i] + count[i];
  std::vector<std::pair<int32_t, float>> edges(static_cast<size_t>(ptr[c.n_rows]));
  std::vector<int64_t> fill(ptr.begin(), ptr.end() - 1);
  auto filler = [&](const LargeVector<float>& cost) {
    return [&](int64_t i, int64_t j, int64_t at) { edges[fill[i]++] = {static_cast<int32_t>(j), cost[at]}; };
  };
  rowLists(c.row_idx, filler(c.row_cost)), rowLists(c.row_idx2, filler(c.row_cost2));
  colLists(c.col_idx, filler(c.col_cost)), colLists(c.col_idx2, filler(c.col_cost2));
  for (const Edge& e : extra) edges[fill[e.row]++] = {e.col, e.cost};
  g.ptr.assign(static_cast<size_t>(c.n_rows + 1), 0);
  g.col.reserve(edges.size());
  g.cost.reserve(edges.size());
  for (int64_t i = 0; i < c.n_rows; ++i) {
    auto b = edges.begin() + ptr[i], e = edges.begin() + ptr[i + 1];
    std::sort(b, e, [](const auto& p, const auto& q) { return p.first < q.first; });
    int32_t last = -1;
    for (auto it = b; it != e; ++it) {
      if (it->first == last) continue;
      last = it->first;
      g.col.push_back(it->first);
      g.cost.push_back(it->second);
    }
    g.ptr[i + 1] = static_cast<int64_t>(g.col.size());
  }
  return g;
}

Graph addEdges(const Graph& g, std::vector<Edge> more) {
  if (more.empty()) return g;
  // Sorted by row then column, merged row by row with the graph's own (already column-sorted)
  // edges: O(edges + more log more), where rebuilding from the lists re-sorted every row each round.
  std::sort(more.begin(), more.end(), [](const Edge& a, const Edge& b) { return a.row < b.row || (a.row == b.row && a.col < b.col); });
  Graph out;
  out.n_rows = g.n_rows;
  out.n_cols = g.n_cols;
  out.ptr.assign(static_cast<size_t>(g.n_rows + 1), 0);
  out.col.reserve(g.col.size() + more.size());
  out.cost.reserve(g.col.size() + more.size());
  size_t m = 0;
  for (int64_t i = 0; i < g.n_rows; ++i) {
    int64_t e = g.ptr[i];
    const int64_t end = g.ptr[i + 1];
    int32_t last = -1;
    auto put = [&](int32_t j, float cost) {
      if (j == last) return;  // a pair met twice has one value: both came from the same entry
      last = j;
      out.col.push_back(j);
      out.cost.push_back(cost);
    };
    while (e < end || (m < more.size() && more[m].row == i)) {
      const bool fromMore = m < more.size() && more[m].row == i && (e >= end || more[m].col < g.col[e]);
      if (fromMore) put(more[m].col, more[m].cost), ++m;
      else put(g.col[e], g.cost[e]), ++e;
    }
    out.ptr[i + 1] = static_cast<int64_t>(out.col.size());
  }
  return out;
}

}  // namespace saematch::sparse
