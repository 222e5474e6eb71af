#include "cost.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "../errors.hpp"
#include "../large_vector.hpp"
#include "../parallel.hpp"

#ifdef SAE_MATCH_HAVE_CBLAS
#include <cblas.h>
#endif

namespace saematch {

bool haveBlas() {
#ifdef SAE_MATCH_HAVE_CBLAS
  return true;
#else
  return false;
#endif
}

std::string blasName() {
#if defined(SAE_MATCH_HAVE_CBLAS) && defined(SAE_MATCH_OPENBLAS)
  return std::string("openblas (") + openblas_get_config() + ")";
#elif defined(SAE_MATCH_HAVE_CBLAS)
  return "cblas";
#else
  return "none";
#endif
}

void gemmNT(GemmKernel kernel, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            const float* b, float* c, int64_t ldc, int threads) {
#ifdef SAE_MATCH_HAVE_CBLAS
  if (kernel != GemmKernel::Builtin) {
#ifdef SAE_MATCH_OPENBLAS
    openblas_set_num_threads(threads);
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m), static_cast<int>(n),
                static_cast<int>(k), alpha, a, static_cast<int>(k), b, static_cast<int>(k), 0.0f, c,
                static_cast<int>(ldc));
    return;
  }
#else
  if (kernel == GemmKernel::Blas)
    throw InputError("this build of sae-match has no BLAS (kernel 'blas' requested)");
#endif
  gemmNTBuiltin(m, n, k, alpha, a, b, c, ldc, threads);
}

void gemmNNBlas(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b, float* c,
                int64_t ldc, int threads) {
#ifdef SAE_MATCH_HAVE_CBLAS
#ifdef SAE_MATCH_OPENBLAS
  openblas_set_num_threads(threads);
#endif
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(m), static_cast<int>(n),
              static_cast<int>(k), alpha, a, static_cast<int>(k), b, static_cast<int>(n), 0.0f, c,
              static_cast<int>(ldc));
#else
  (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)b, (void)c, (void)ldc, (void)threads;
  throw InputError("this build of sae-match has no BLAS (gemmNNBlas)");
#endif
}

namespace {

std::vector<double> squaredNorms(const float* x, int64_t n, int64_t k, int threads) {
  std::vector<double> out(n);
  parallelFor(n, threads, 256, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const float* r = x + i * k;
      double s = 0;
      for (int64_t p = 0; p < k; ++p) s += static_cast<double>(r[p]) * r[p];
      out[i] = s;
    }
  });
  return out;
}

}  // namespace

CostPanels::CostPanels(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k, CostMetric metric,
                       GemmKernel kernel, int threads, bool transposed)
    : a_(a), b_(b), n_a_(n_a), n_b_(n_b), k_(k), transposed_(transposed), metric_(metric),
      threads_(threads <= 0 ? hardwareThreads() : threads) {
  if (kernel == GemmKernel::Auto) kernel = haveBlas() ? GemmKernel::Blas : GemmKernel::Builtin;
  if (kernel == GemmKernel::Blas && !haveBlas())
    throw InputError("this build of sae-match has no BLAS (kernel 'blas' requested)");
  if (kernel == GemmKernel::Blas) {
    const BlasRules rules = blasRules(k);
    if (rules.row_tile == 0) {
      kernel = GemmKernel::Builtin;  // no call shape keeps its entries: recomputed rows would differ
    } else {
      row_tile_ = rules.row_tile;
      slotted_ = rules.slotted;
      column_subsets_ = rules.column_subsets;
      direct_ = transposed && !rules.column_subsets;
    }
  }
  kernel_ = kernel;
  na_ = squaredNorms(a, n_a, k, threads_);
  nb_ = squaredNorms(b, n_b, k, threads_);
  if (metric == CostMetric::Cosine) {  // turn norms into inverse lengths once
    for (double& x : na_) x = x > 0 ? 1.0 / std::sqrt(x) : 0.0;
    for (double& x : nb_) x = x > 0 ? 1.0 / std::sqrt(x) : 0.0;
  }
}

void CostPanels::compute(const float* a_rows, const double* norms, int64_t rows, const float* b_rows,
                         const double* nb, int64_t cols, float* out, int threadsAsked, int64_t slot0,
                         const RowDone* rowDone) const {
  const int nt = threadsAsked > 0 ? threadsAsked : threads_;
  const float alpha = metric_ == CostMetric::SquaredEuclidean ? -2.0f : 1.0f;
  // OpenBLAS sends small products (M*N*K up to about 1e6 on x86-64) to separate small-matrix
  // kernels, which round differently: a 16-row call there and a 32-row one outside it disagree in
  // the last bits (measured: 4 of 64 assigned costs of a 64 x 64 x 32 sparse solve). Shapes where a
  // row-tile call could be small take the built-in kernel, whose entries do not depend on the call's
  // shape; they are cheap either way.
  if (kernel_ == GemmKernel::Blas && static_cast<double>(row_tile_) * static_cast<double>(cols) * static_cast<double>(k_) <= kBlasSmallProduct) {
    gemmNT(GemmKernel::Builtin, rows, cols, k_, alpha, a_rows, b_rows, out, cols, nt);
  } else if (kernel_ == GemmKernel::Blas) {
    // BLAS calls are single-threaded, on blocks of a multiple of row_tile_ rows (a short last block
    // padded with zero rows), one block per thread. OpenBLAS's value for an entry depends on where
    // its row falls in the micro-kernel's tiles and in OpenBLAS's own thread split (measured: most
    // entries of a 300-row matrix differ in the last bits from the same rows computed 17 at a time);
    // in whole tiles of a one-thread call it does not, so a row computed in any panel, alone or
    // gathered with others (the sparse method's pricing), is bit for bit the row of the full matrix.
    const int64_t tile = row_tile_;
    // Rows put in slots [at, at + count) of a zero-padded tile of their own (a short last block, or
    // a slotted BLAS's first rows when the first is not in slot 0).
    auto paddedTile = [&](const float* rowsIn, int64_t at, int64_t count, float* rowsOut) {
      std::vector<float> pa(static_cast<size_t>(tile * k_), 0.0f), pc(static_cast<size_t>(tile * cols));
      std::copy(rowsIn, rowsIn + count * k_, pa.data() + at * k_);
      gemmNT(GemmKernel::Blas, tile, cols, k_, alpha, pa.data(), b_rows, pc.data(), cols, 1);
      std::copy(pc.data() + at * cols, pc.data() + (at + count) * cols, rowsOut);
    };
    const int64_t head = slotted_ && slot0 % tile != 0 ? std::min(rows, tile - slot0 % tile) : 0;
    if (head > 0) paddedTile(a_rows, slot0 % tile, head, out);
    const int64_t body = rows - head;
    const float* bodyA = a_rows + head * k_;
    float* bodyOut = out + head * cols;
    const int64_t per = std::max<int64_t>(tile, (body + nt - 1) / nt);
    const int64_t grain = (per + tile - 1) / tile * tile;
    parallelFor(body, nt, grain, [&](int64_t r0, int64_t r1, int) {
      const int64_t whole = (r1 - r0) / tile * tile;
      if (whole > 0) gemmNT(GemmKernel::Blas, whole, cols, k_, alpha, bodyA + r0 * k_, b_rows, bodyOut + r0 * cols, cols, 1);
      const int64_t rest = r1 - r0 - whole;
      if (rest > 0) paddedTile(bodyA + (r0 + whole) * k_, 0, rest, bodyOut + (r0 + whole) * cols);
    });
  } else {
    gemmNT(kernel_, rows, cols, k_, alpha, a_rows, b_rows, out, cols, nt);
  }
  parallelFor(rows, nt, 16, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) {
      float* cr = out + r * cols;
      const double ni = norms[r];
      if (metric_ == CostMetric::SquaredEuclidean) {
        for (int64_t j = 0; j < cols; ++j) {
          double s = ni + nb[j] + static_cast<double>(cr[j]);
          cr[j] = static_cast<float>(s > 0 ? s : 0.0);
        }
      } else {
        for (int64_t j = 0; j < cols; ++j)
          cr[j] = static_cast<float>(1.0 - static_cast<double>(cr[j]) * ni * nb[j]);
      }
      if (rowDone) (*rowDone)(r);
    }
  });
}

void PanelSource::rowsThen(int64_t i0, int64_t rows, float* out, const RowDone& rowDone) const {
  this->rows(i0, rows, out);
  parallelFor(rows, threads(), 16, [&](int64_t r0, int64_t r1, int) {
    for (int64_t r = r0; r < r1; ++r) rowDone(r);
  });
}

void CostPanels::rowsThen(int64_t i0, int64_t rows, float* out, const RowDone& rowDone) const {
  if (transposed_ && !direct_) return PanelSource::rowsThen(i0, rows, out, rowDone);
  const float* src = transposed_ ? b_ : a_;
  const std::vector<double>& srcNorms = transposed_ ? nb_ : na_;
  computeRows(src + i0 * k_, srcNorms.data() + i0, rows, out, i0, &rowDone);
}

void CostPanels::computeRows(const float* x, const double* norms, int64_t count, float* out, int64_t slot0,
                             const RowDone* rowDone) const {
  if (direct_) return compute(x, norms, count, a_, na_.data(), n_a_, out, 0, slot0, rowDone);
  if (transposed_) return columns(x, norms, count, out);  // never with rowDone: rowsThen keeps it apart
  compute(x, norms, count, b_, nb_.data(), n_b_, out, 0, slot0, rowDone);
}

void CostPanels::columns(const float* b_rows, const double* b_norms, int64_t count, float* out) const {
  // C[:, block] over all of a's rows, in the row panels (and so the tiles) the (a, b) matrix uses:
  // an entry's value depends on its row's tile, not on which columns share the call (tested).
  constexpr int64_t kPanel = 2048;
  std::vector<float> block(static_cast<size_t>(std::min(kPanel, n_a_) * count));
  for (int64_t i0 = 0; i0 < n_a_; i0 += kPanel) {
    const int64_t rows = std::min(kPanel, n_a_ - i0);
    compute(a_ + i0 * k_, na_.data() + i0, rows, b_rows, b_norms, count, block.data(), 0, i0);
    parallelFor(count, threads_, 16, [&](int64_t c0, int64_t c1, int) {
      for (int64_t c = c0; c < c1; ++c)
        for (int64_t r = 0; r < rows; ++r) out[c * n_a_ + i0 + r] = block[r * count + c];
    });
  }
}

void CostPanels::rows(int64_t i0, int64_t rows, float* out) const {
  const float* src = transposed_ ? b_ : a_;
  const std::vector<double>& srcNorms = transposed_ ? nb_ : na_;
  computeRows(src + i0 * k_, srcNorms.data() + i0, rows, out, i0);
}

void CostPanels::gathered(const int32_t* list, int64_t count, float* out) const {
  // (C^T's column panels compute b's rows as columns: their slots are those of a's rows.)
  if (slotted_ && !(transposed_ && !direct_)) return gatheredInSlots(list, count, out);
  const float* src = transposed_ ? b_ : a_;
  const std::vector<double>& srcNorms = transposed_ ? nb_ : na_;
  std::vector<float> x(static_cast<size_t>(count * k_));
  std::vector<double> norms(static_cast<size_t>(count));
  for (int64_t r = 0; r < count; ++r) {
    std::copy(src + list[r] * k_, src + (list[r] + 1) * k_, x.data() + r * k_);
    norms[r] = srcNorms[list[r]];
  }
  computeRows(x.data(), norms.data(), count, out, 0);
}

void CostPanels::gatheredInSlots(const int32_t* list, int64_t count, float* out) const {
  // Each row in the slot of its own index (list[q] mod the tile), tiles padded with zero rows where
  // the list has fewer rows of some slot; a chunk of tiles at a time, at most 64 MiB of rows (counted in
  // src/solve/sparse.ts sparseBytes), not a second copy of the output.
  const float* src = transposed_ ? b_ : a_;
  const std::vector<double>& srcNorms = transposed_ ? nb_ : na_;
  const int64_t cols = nCols();
  const int64_t tile = row_tile_;
  std::vector<std::vector<int64_t>> bySlot(static_cast<size_t>(tile));
  for (int64_t q = 0; q < count; ++q) bySlot[static_cast<size_t>(list[q] % tile)].push_back(q);
  int64_t tiles = 0;
  for (const auto& b : bySlot) tiles = std::max<int64_t>(tiles, static_cast<int64_t>(b.size()));
  const int64_t chunkRows = std::clamp<int64_t>((int64_t{64} << 20) / (4 * std::max<int64_t>(1, cols)), tile, 512);
  const int64_t chunk = std::max<int64_t>(1, std::min<int64_t>(tiles, chunkRows / tile));
  std::vector<float> x(static_cast<size_t>(chunk * tile * k_));
  std::vector<double> norms(static_cast<size_t>(chunk * tile));
  LargeVector<float> rowsOut(static_cast<size_t>(chunk * tile * cols));
  for (int64_t t0 = 0; t0 < tiles; t0 += chunk) {
    const int64_t nt = std::min(chunk, tiles - t0);
    std::fill(x.begin(), x.end(), 0.0f);
    std::fill(norms.begin(), norms.end(), 0.0);
    for (int64_t t = 0; t < nt; ++t)
      for (int64_t sl = 0; sl < tile; ++sl)
        if (t0 + t < static_cast<int64_t>(bySlot[sl].size())) {
          const int32_t i = list[bySlot[sl][t0 + t]];
          std::copy(src + i * k_, src + (i + 1) * k_, x.data() + (t * tile + sl) * k_);
          norms[t * tile + sl] = srcNorms[i];
        }
    computeRows(x.data(), norms.data(), nt * tile, rowsOut.data(), 0);
    for (int64_t t = 0; t < nt; ++t)
      for (int64_t sl = 0; sl < tile; ++sl)
        if (t0 + t < static_cast<int64_t>(bySlot[sl].size()))
          std::copy(rowsOut.data() + (t * tile + sl) * cols, rowsOut.data() + (t * tile + sl + 1) * cols, out + bySlot[sl][t0 + t] * cols);
  }
}

int64_t CostPanels::minBlockColumns() const {
  // The whole matrix's calls (row tiles against all n_b columns) took BLAS's large-matrix path
  // unless they too were small; a narrower call must stay past the same threshold.
  if (kernel_ != GemmKernel::Blas) return 1;
  const double tile = static_cast<double>(row_tile_) * static_cast<double>(k_);
  if (tile * static_cast<double>(n_b_) <= kBlasSmallProduct) return 1;  // the whole matrix took the built-in kernel too
  return static_cast<int64_t>(kBlasSmallProduct / tile) + 1;
}

bool CostPanels::lowerBounds(int64_t row, const int32_t* cols, int64_t count, double* lo) const {
  // The entry is the epilogue's fl32(n_x + n_y + g) (squared Euclidean; clamped at 0) or
  // fl32(1 - g n_x n_y) (cosine, n the inverse lengths), with g = -2 x.y or x.y as the GEMM summed it
  // in float32: in any order of summation, |fl(x.y) - x.y| <= gamma_K sum |x_k y_k| (Higham, Accuracy
  // and Stability, 3.1), gamma_K = K u / (1 - K u), u = 2^-24. x.y and the sum are taken here in
  // double (error <= gamma'_K sum |x_k y_k|, u' = 2^-53), the epilogue's double operations and the
  // final rounding to float32 are bounded on top. So lo <= the entry, whichever kernel computed it.
  const float* xs = transposed_ ? b_ : a_;
  const float* ys = transposed_ ? a_ : b_;
  const double nx = (transposed_ ? nb_ : na_)[static_cast<size_t>(row)];
  const std::vector<double>& ny = transposed_ ? na_ : nb_;
  const double K = static_cast<double>(k_);
  const double gf = K * 0x1p-24 / (1.0 - K * 0x1p-24);
  const double gd = (K + 4.0) * 0x1p-53 / (1.0 - (K + 4.0) * 0x1p-53);
  const float* x = xs + row * k_;
  for (int64_t q = 0; q < count; ++q) {
    const float* y = ys + static_cast<int64_t>(cols[q]) * k_;
    double dot = 0, mag = 0;
    for (int64_t t = 0; t < k_; ++t) {
      const double p = static_cast<double>(x[t]) * static_cast<double>(y[t]);
      dot += p;
      mag += std::fabs(p);
    }
    mag *= 1.0 + gd;  // the sum of magnitudes itself, rounded
    const double dotHi = dot + (gf + gd) * mag, dotLo = dot - (gf + gd) * mag;
    double e;  // the entry before its rounding to float32, at its lowest
    if (metric_ == CostMetric::SquaredEuclidean) {
      const double n2 = nx + ny[static_cast<size_t>(cols[q])];
      e = n2 - 2.0 * dotHi - 4.0 * gd * (n2 + 2.0 * mag);
      e = std::max(e, 0.0);
    } else {
      const double s = nx * ny[static_cast<size_t>(cols[q])];
      const double prod = std::max(dotHi * s, dotLo * s);
      e = 1.0 - prod - 4.0 * gd * (1.0 + std::fabs(prod));
    }
    lo[q] = e - std::fabs(e) * 0x1p-24 - 0x1p-149;  // the rounding to float32, to nearest: half an ulp (subnormals: 2^-150)
  }
  return true;
}

bool CostPanels::prefixBlock(const int32_t* rows, const int64_t* want, int64_t count, const int32_t* cols, int64_t stride,
                             float* out) const {
  // C^T's panels, and a BLAS that gives a subset of the columns other values, cannot.
  if (transposed_ || !column_subsets_ || slotted_ || count <= 0) return !transposed_ && column_subsets_ && !slotted_;
  const int64_t minCols = minBlockColumns();
  const int64_t widest = std::min(n_b_, std::max(want[0], minCols));
  if (widest > stride) return false;
  // Rows go to the GEMM in tiles of whole row-tile groups (16 rows where the BLAS keeps entries over
  // column subsets at all: blasRules), as wide as the tile's first (widest) row
  // wants. Each call packs its columns' features again, which on a 16-row call cost about twice
  // its arithmetic (measured at 65536 x 2304: 18 GFLOP/s over 25 million entries where the panels
  // run at 115), so a group joins the tile before it while it wants at least half the tile's width:
  // the columns it computes past its own then cost less than a pack of its own would. Entries do
  // not depend on the tile (whole row tiles of a one-thread call: see compute).
  constexpr int64_t kMaxTileRows = 256;
  std::vector<float> bx(static_cast<size_t>(widest * k_));
  std::vector<double> bn(static_cast<size_t>(widest));
  for (int64_t q = 0; q < widest; ++q) {
    std::copy(b_ + static_cast<int64_t>(cols[q]) * k_, b_ + (static_cast<int64_t>(cols[q]) + 1) * k_, bx.data() + q * k_);
    bn[q] = nb_[cols[q]];
  }
  std::vector<float> ax, tileOut;
  std::vector<double> an;
  for (int64_t r0 = 0; r0 < count;) {
    const int64_t w = std::min(widest, std::max(want[r0], minCols));
    int64_t r1 = std::min(count, r0 + row_tile_);
    while (r1 < count && r1 - r0 < kMaxTileRows && 2 * std::max(want[r1], minCols) >= w) r1 = std::min(count, r1 + row_tile_);
    const int64_t tile = r1 - r0;
    ax.resize(static_cast<size_t>(tile * k_));
    an.resize(static_cast<size_t>(tile));
    tileOut.resize(static_cast<size_t>(tile * w));
    for (int64_t r = 0; r < tile; ++r) {
      std::copy(a_ + static_cast<int64_t>(rows[r0 + r]) * k_, a_ + (static_cast<int64_t>(rows[r0 + r]) + 1) * k_, ax.data() + r * k_);
      an[r] = na_[rows[r0 + r]];
    }
    compute(ax.data(), an.data(), tile, bx.data(), bn.data(), w, tileOut.data(), 1);
    for (int64_t r = 0; r < tile; ++r) std::copy(tileOut.data() + r * w, tileOut.data() + (r + 1) * w, out + (r0 + r) * stride);
    r0 = r1;
  }
  return true;
}

CostInfo costMatrix(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k,
                    CostMetric metric, GemmKernel kernel, int threads, int64_t panel_rows, float* out,
                    const std::atomic<bool>* cancel) {
  auto t0 = std::chrono::steady_clock::now();
  const CostPanels panels(a, n_a, b, n_b, k, metric, kernel, threads);
  CostInfo info;
  info.kernel = panels.kernel() == GemmKernel::Blas ? "blas" : "builtin";
  info.threads = panels.threads();
  // Row panels give cancellation a point to act. Every panel's GEMM repacks all of b, so panels must
  // be tall (the default, 2048 rows, and the heights measured are in src/solve/engine.ts and
  // BENCHMARKS.md).
  for (int64_t i0 = 0; i0 < n_a; i0 += panel_rows) {
    if (cancel && cancel->load(std::memory_order_relaxed)) throw Cancelled();
    const int64_t rows = std::min(panel_rows, n_a - i0);
    panels.rows(i0, rows, out + i0 * n_b);
  }
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return info;
}

}  // namespace saematch
