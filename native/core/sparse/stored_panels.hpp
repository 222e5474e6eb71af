// A stored cost matrix as the sparse method's panel source (`solve --method sparse`, the benchmark
// families): rows are copied out of the matrix, so every entry the method sees is the stored one.
// With more rows than columns it serves the transpose (the smaller side as rows, as CostPanels).
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "../cost/cost.hpp"
#include "../parallel.hpp"

namespace saematch::sparse {

class StoredPanels : public PanelSource {
 public:
  // The offsets are the rows' and columns' minima (one pass over the matrix): the second lists keyed
  // by c - min of the other side play the part ||b_j||^2 plays for feature pairs, the spread of the
  // column duals (which start at the column minima), without which bounds on flat rows prove nothing.
  StoredPanels(const float* c, int64_t n_rows, int64_t n_cols, int threads, bool transposed)
      : c_(c), n_rows_(n_rows), n_cols_(n_cols), threads_(threads), transposed_(transposed) {
    rowMin_.assign(static_cast<size_t>(n_rows), std::numeric_limits<double>::infinity());
    colMin_.assign(static_cast<size_t>(n_cols), std::numeric_limits<double>::infinity());
    const int parts = parallelParts(n_rows, threads, 64);
    std::vector<std::vector<double>> colPart(static_cast<size_t>(parts), std::vector<double>(static_cast<size_t>(n_cols), std::numeric_limits<double>::infinity()));
    parallelFor(n_rows, threads, 64, [&](int64_t r0, int64_t r1, int part) {
      double* cm = colPart[part].data();
      for (int64_t i = r0; i < r1; ++i) {
        const float* row = c_ + i * n_cols_;
        double m = std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < n_cols_; ++j) {
          const double x = row[j];
          m = std::min(m, x);
          cm[j] = std::min(cm[j], x);
        }
        rowMin_[i] = m;
      }
    });
    for (const auto& cm : colPart)
      for (int64_t j = 0; j < n_cols; ++j) colMin_[j] = std::min(colMin_[j], cm[j]);
  }
  void rows(int64_t i0, int64_t rows, float* out) const override {
    std::vector<int32_t> list(static_cast<size_t>(rows));
    for (int64_t r = 0; r < rows; ++r) list[r] = static_cast<int32_t>(i0 + r);
    gathered(list.data(), rows, out);
  }
  void gathered(const int32_t* list, int64_t count, float* out) const override {
    const int64_t w = nCols();
    parallelFor(count, threads_, 16, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) {
        if (!transposed_) {
          std::copy_n(c_ + static_cast<int64_t>(list[r]) * n_cols_, n_cols_, out + r * w);
        } else {  // column list[r] of the stored matrix
          for (int64_t i = 0; i < n_rows_; ++i) out[r * w + i] = c_[i * n_cols_ + list[r]];
        }
      }
    });
  }
  bool prefixBlock(const int32_t* rows, const int64_t* want, int64_t count, const int32_t* cols, int64_t stride,
                   float* out) const override {
    for (int64_t r = 0; r < count; ++r)
      for (int64_t q = 0; q < want[r]; ++q)
        out[r * stride + q] = transposed_ ? c_[static_cast<int64_t>(cols[q]) * n_cols_ + rows[r]] : c_[static_cast<int64_t>(rows[r]) * n_cols_ + cols[q]];
    return true;
  }
  const std::vector<double>& rowOffsets() const override { return transposed_ ? colMin_ : rowMin_; }
  const std::vector<double>& colOffsets() const override { return transposed_ ? rowMin_ : colMin_; }
  int64_t nRows() const override { return transposed_ ? n_cols_ : n_rows_; }
  int64_t nCols() const override { return transposed_ ? n_rows_ : n_cols_; }
  int threads() const override { return threads_; }

 private:
  const float* c_;
  int64_t n_rows_, n_cols_;
  int threads_;
  bool transposed_;
  std::vector<double> rowMin_, colMin_;
};

}  // namespace saematch::sparse
