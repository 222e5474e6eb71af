// The SAE Match cost matrix (paper eq. 3): squared Euclidean distances between the folded feature
// vectors of two layers, C[i,j] = ||a_i||^2 + ||b_j||^2 - 2 a_i.b_j, one GEMM plus two norm vectors.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace saematch {

enum class CostMetric { SquaredEuclidean, Cosine };
enum class GemmKernel { Auto, Blas, Builtin };

struct CostInfo {
  std::string kernel;  // "blas" or "builtin"
  int threads = 1;
  double seconds = 0;
};

// a: n_a x k, b: n_b x k, row-major float32; out: n_a x n_b row-major float32.
// SquaredEuclidean: ||a_i - b_j||^2 clamped at 0 (the product form can round below zero).
// Cosine: 1 - a_i.b_j / (||a_i|| ||b_j||); a zero vector has cosine 0 with everything.
// The matrix is computed in panels of panel_rows rows (>= 1; the caller's choice, see cost.cpp),
// between which `cancel` is polled; the result does not depend on the panel height.
CostInfo costMatrix(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k,
                    CostMetric metric, GemmKernel kernel, int threads, int64_t panel_rows, float* out,
                    const std::atomic<bool>* cancel);

// The cost matrix a panel of rows at a time: the norms once, then the rows asked for. costMatrix is
// this over every row; the sparse method (sparse/) streams the panels and recomputes chosen rows
// while pricing, through the same GEMM call and epilogue, so every entry it sees is bit for bit the
// dense matrix's (an entry does not depend on which rows share its panel: tested).
//
// transposed: the panels are those of the transpose, C^T (n_b x n_a), each entry still computed as
// the (a, b) matrix computes it (a panel of C^T is a block of C's columns, computed over all of a's
// rows and transposed), so a pair with more features in a than in b is solved with b's side as rows
// on entries bit for bit those of the (a, b) matrix (the orientation of a GEMM changes its last bits).
// What the sparse method streams and recomputes: rows of a cost matrix, a panel or a gathered set at
// a time, and the offsets ||a_i||^2 / ||b_j||^2 its entries carry (empty when they carry none).
// CostPanels computes them from two feature matrices; a stored matrix gives its own rows
// (sparse/stored_panels.hpp).
class PanelSource {
 public:
  virtual ~PanelSource() = default;
  virtual void rows(int64_t i0, int64_t rows, float* out) const = 0;
  // rows(), calling rowDone(r) for each row r of out as soon as its entries are final, on the thread
  // that finished it (in any order, several at once): the sparse stream reads a row while it is still
  // in cache. By default after all of them, in parallel.
  using RowDone = std::function<void(int64_t r)>;
  virtual void rowsThen(int64_t i0, int64_t rows, float* out, const RowDone& rowDone) const;
  virtual void gathered(const int32_t* list, int64_t count, float* out) const = 0;
  virtual const std::vector<double>& rowOffsets() const = 0;
  virtual const std::vector<double>& colOffsets() const = 0;
  virtual int64_t nRows() const = 0;
  virtual int64_t nCols() const = 0;
  virtual int threads() const = 0;
  // Some of a few rows' entries, bit for bit the matrix's: rows[r] (count of them, want[r] falling)
  // against the columns cols[0 .. want[r]), into out (count x stride, stride >= want[0]); entries
  // past want[r] in its row are unspecified. Pricing evaluates the pairs its bounds leave open this
  // way instead of whole rows. Returns false where the source cannot (the caller computes the rows
  // whole; asked with count 0, it says whether it can). minBlockColumns: the fewest columns a call may compute to round as the whole matrix did
  // (OpenBLAS's small-matrix kernels round differently: see CostPanels::compute).
  virtual bool prefixBlock(const int32_t* /*rows*/, const int64_t* /*want*/, int64_t /*count*/, const int32_t* /*cols*/,
                           int64_t /*stride*/, float* /*out*/) const {
    return false;
  }
  virtual int64_t minBlockColumns() const { return 1; }
  // For row `row` and the columns cols[0..count), a number no greater than the entry the matrix has,
  // whatever order the GEMM sums in (a rounding-error bound, not the entry): pricing proves open pairs
  // with it where it cannot compute them bit for bit but by recomputing their rows whole. Returns
  // false where the source has no such bound.
  virtual bool lowerBounds(int64_t /*row*/, const int32_t* /*cols*/, int64_t /*count*/, double* /*lo*/) const { return false; }
};

// Below this M*N*K OpenBLAS may take its small-matrix kernels, which round differently from its
// large-matrix path (a 16-row call and a 32-row one over the same columns disagree in the last bits).
constexpr double kBlasSmallProduct = 4.0e6;

// What the BLAS's sgemm keeps bit for bit across call shapes at inner dimension k (blas_rules.cpp,
// measured once per k): calls whose row count is a whole multiple of row_tile give every row the value
// the whole matrix gave it, wherever the row sits, or (slotted) as long as it sits in the same slot of
// a tile, its index mod row_tile (0: no tile tried does, and the built-in kernel computes instead);
// column_subsets: so do calls over a subset of the columns.
struct BlasRules {
  int64_t row_tile = 16;
  bool slotted = false;
  bool column_subsets = true;
};
BlasRules blasRules(int64_t k);

class CostPanels : public PanelSource {
 public:
  CostPanels(const float* a, int64_t n_a, const float* b, int64_t n_b, int64_t k, CostMetric metric,
             GemmKernel kernel, int threads, bool transposed = false);
  // Rows [i0, i0 + rows) of the matrix into out (rows x nCols(), row-major).
  void rows(int64_t i0, int64_t rows, float* out) const override;
  // rows() with rowDone called in the epilogue, row by row (C^T's column panels: after them).
  void rowsThen(int64_t i0, int64_t rows, float* out, const RowDone& rowDone) const override;
  // The rows list[0..count) into out (count x nCols()), their features gathered first.
  void gathered(const int32_t* list, int64_t count, float* out) const override;
  // In the (a, b) orientation, on a BLAS that keeps entries over column subsets (blasRules): a row
  // tile at a time against the first columns it wants,
  // those columns' features gathered once.
  bool prefixBlock(const int32_t* rows, const int64_t* want, int64_t count, const int32_t* cols, int64_t stride,
                   float* out) const override;
  int64_t minBlockColumns() const override;
  bool lowerBounds(int64_t row, const int32_t* cols, int64_t count, double* lo) const override;
  // What ||a_i||^2 and ||b_j||^2 add to every entry of row i and of column j (squared Euclidean);
  // empty for the cosine distance, whose rows and columns carry no such offset.
  const std::vector<double>& rowOffsets() const override { return metric_ != CostMetric::SquaredEuclidean ? none_ : transposed_ ? nb_ : na_; }
  const std::vector<double>& colOffsets() const override { return metric_ != CostMetric::SquaredEuclidean ? none_ : transposed_ ? na_ : nb_; }
  int64_t nRows() const override { return transposed_ ? n_b_ : n_a_; }
  int64_t nCols() const override { return transposed_ ? n_a_ : n_b_; }
  bool transposed() const { return transposed_; }
  int64_t dim() const { return k_; }
  GemmKernel kernel() const { return kernel_; }
  int threads() const override { return threads_; }

 private:
  // BLAS calls are on whole multiples of this many rows (blasRules; 16 for the built-in kernel, whose
  // entries do not depend on the call), so every row is computed as in the whole matrix.
  int64_t row_tile_ = 16;
  // C^T's panels are computed as (b, a) products, not as C's column blocks: the BLAS gives a subset of
  // C's columns other values than the whole matrix (blasRules), so the method's entries are those of
  // the (b, a) matrix, transposed.
  bool direct_ = false;
  bool column_subsets_ = true;
  // A row's entries depend on its slot in the tile (its index mod row_tile_): calls put every row in
  // the slot of its index (compute's slot0, gathered's placement).
  bool slotted_ = false;
  // out (rows x cols) = the entries of a_rows (with their norms) against b_rows (with theirs), on
  // `threads` threads (0: the source's own; prefixBlock's callers already split over the threads).
  // slot0: the index of a_rows' first row in its matrix (a slotted BLAS puts it in slot slot0 mod row_tile_).
  void compute(const float* a_rows, const double* a_norms, int64_t rows, const float* b_rows,
               const double* b_norms, int64_t cols, float* out, int threads = 0, int64_t slot0 = 0,
               const RowDone* rowDone = nullptr) const;
  // count rows of this source's orientation (a's rows, or b's for C^T), given their features x and
  // norms, against all of the other side: the one place that knows how C^T is computed (as C's
  // column blocks, or as the (b, a) product: direct_). slot0: the index of x's first row.
  void computeRows(const float* x, const double* norms, int64_t count, float* out, int64_t slot0,
                   const RowDone* rowDone = nullptr) const;
  // gathered() for a slotted BLAS: each row in the slot of its own index.
  void gatheredInSlots(const int32_t* list, int64_t count, float* out) const;
  // A panel of C^T: b's rows b_rows against all of a, computed as C's columns, transposed into out.
  void columns(const float* b_rows, const double* b_norms, int64_t count, float* out) const;
  const float *a_, *b_;
  int64_t n_a_, n_b_, k_;
  bool transposed_ = false;
  CostMetric metric_;
  GemmKernel kernel_ = GemmKernel::Builtin;
  int threads_;
  std::vector<double> na_, nb_, none_;
};

// C = alpha * A * B^T for row-major A (m x k) and B (n x k), C (m x n) with leading dimension ldc.
void gemmNT(GemmKernel kernel, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
            const float* b, float* c, int64_t ldc, int threads);

// C = alpha * A * B for row-major A (m x k) and B (k x n): only with BLAS (haveBlas()); without it,
// callers transpose B once and use gemmNT (the built-in kernel wants B's rows contiguous in k).
void gemmNNBlas(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b, float* c,
                int64_t ldc, int threads);

// The built-in cache-blocked, vectorised GEMM used when no BLAS was found at build time.
void gemmNTBuiltin(int64_t m, int64_t n, int64_t k, float alpha, const float* a, const float* b,
                   float* c, int64_t ldc, int threads);

bool haveBlas();
std::string blasName();

}  // namespace saematch
