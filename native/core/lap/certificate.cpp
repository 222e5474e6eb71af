// The dual certificate of an assignment (lap.hpp, checkCertificate): optimality proved from (x, u, v)
// alone by LP duality, independent of how the assignment was found. It is what makes every result of
// this package checkable, the device's included, so it shares nothing with the solver but the input.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lap.hpp"
#include "../parallel.hpp"

namespace saematch {
namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}  // namespace

template <typename T>
Certificate checkCertificate(const T* cost, int64_t n_rows, int64_t n_cols, bool maximize,
                             const int32_t* x, const double* u, const double* v, double tol) {
  Certificate cert;
  const double s = maximize ? -1.0 : 1.0;
  // 1. x is a one-to-one matching of the smaller side that uses no forbidden pair.
  std::vector<int32_t> y(n_cols, -1);
  int64_t assigned = 0;
  cert.assignment_valid = true;
  for (int64_t i = 0; i < n_rows && cert.assignment_valid; ++i) {
    int32_t j = x[i];
    if (j < 0) continue;
    if (j >= n_cols) {
      cert.assignment_valid = false;
      cert.message = "row " + std::to_string(i) + " is assigned to column " + std::to_string(j) +
                     ", outside the matrix";
    } else if (y[j] >= 0) {
      cert.assignment_valid = false;
      cert.message = "column " + std::to_string(j) + " is assigned to rows " +
                     std::to_string(y[j]) + " and " + std::to_string(i);
    } else if (!std::isfinite(s * static_cast<double>(cost[i * n_cols + j]))) {
      cert.assignment_valid = false;
      cert.message = "row " + std::to_string(i) + " uses the forbidden pair (" + std::to_string(i) +
                     ", " + std::to_string(j) + ")";
    } else {
      y[j] = static_cast<int32_t>(i);
      ++assigned;
    }
  }
  if (cert.assignment_valid && assigned != std::min(n_rows, n_cols)) {
    cert.assignment_valid = false;
    cert.message = "only " + std::to_string(assigned) + " of " +
                   std::to_string(std::min(n_rows, n_cols)) + " rows/columns are assigned";
  }
  // A NaN dual would slip through every comparison below (NaN compares false), so non-finite duals
  // are a violation on their own.
  bool dualsFinite = true;
  for (int64_t i = 0; i < n_rows && dualsFinite; ++i) dualsFinite = std::isfinite(u[i]);
  for (int64_t j = 0; j < n_cols && dualsFinite; ++j) dualsFinite = std::isfinite(v[j]);
  // 2. Reduced costs r_ij = c'_ij - u'_i - v'_j of the minimisation c' = s c (duals u' = s u).
  // One pass over the matrix, rows split over all cores (each part's minima and maxima, then merged).
  struct Part {
    double scale = 0, minR = kInf, gap = 0;
  };
  const int threads = std::max(1, hardwareThreads());
  std::vector<Part> parts(parallelParts(n_rows, threads, 64));
  parallelFor(n_rows, threads, 64, [&](int64_t b, int64_t e, int t) {
    Part p;
    for (int64_t i = b; i < e; ++i) {
      const T* rw = cost + i * n_cols;
      const double ui = u[i];
      double mn = kInf, sc = 0;
      for (int64_t j = 0; j < n_cols; ++j) {
        double c = static_cast<double>(rw[j]);
        double r = s * (c - ui - v[j]);  // +inf for forbidden pairs: never the minimum
        mn = r < mn ? r : mn;
        double a = std::fabs(c);
        sc = (a > sc && a < kInf) ? a : sc;
      }
      p.minR = std::min(p.minR, mn);
      p.scale = std::max(p.scale, sc);
      if (x[i] >= 0 && x[i] < n_cols)
        p.gap = std::max(p.gap, std::fabs(s * (static_cast<double>(rw[x[i]]) - ui - v[x[i]])));
    }
    parts[t] = p;
  });
  double scale = 0, minR = kInf, gap = 0;
  for (const Part& p : parts) {
    minR = std::min(minR, p.minR);
    scale = std::max(scale, p.scale);
    gap = std::max(gap, p.gap);
  }
  // 3. Rectangular: the longer side's unassigned duals (in c' terms) must be equal and maximal.
  double rect = 0;
  auto sideCondition = [&](const double* w, int64_t n, auto isAssigned) {
    double maxAll = -kInf, minFree = kInf, maxFree = -kInf;
    for (int64_t k = 0; k < n; ++k) {
      double wk = s * w[k];
      maxAll = std::max(maxAll, wk);
      if (!isAssigned(k)) minFree = std::min(minFree, wk), maxFree = std::max(maxFree, wk);
    }
    if (minFree < kInf) rect = std::max({rect, maxFree - minFree, maxAll - minFree});
  };
  if (n_rows < n_cols) sideCondition(v, n_cols, [&](int64_t j) { return y[j] >= 0; });
  if (n_rows > n_cols) sideCondition(u, n_rows, [&](int64_t i) { return x[i] >= 0; });

  cert.min_reduced_cost = minR == kInf ? 0 : minR;
  cert.max_assigned_gap = gap;
  cert.tolerance = tol > 0 ? tol : 1e-9 * (1.0 + scale);
  cert.max_violation = std::max({0.0, -cert.min_reduced_cost, gap, rect});
  if (!dualsFinite || std::isnan(cert.max_violation) || std::isnan(minR)) {
    cert.max_violation = kInf;
    if (!dualsFinite && cert.message.empty()) cert.message = "a dual variable is NaN or infinite";
  }
  cert.ok = cert.assignment_valid && cert.max_violation <= cert.tolerance;
  if (cert.message.empty() && !cert.ok)
    cert.message = "dual certificate violated by " + std::to_string(cert.max_violation) +
                   " (tolerance " + std::to_string(cert.tolerance) + ")";
  return cert;
}

template Certificate checkCertificate<float>(const float*, int64_t, int64_t, bool, const int32_t*,
                                             const double*, const double*, double);
template Certificate checkCertificate<double>(const double*, int64_t, int64_t, bool,
                                              const int32_t*, const double*, const double*, double);

}  // namespace saematch
