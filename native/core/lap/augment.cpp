// JV phase 4: a shortest augmenting path (Dijkstra over columns, reduced costs c'_ij - v_j) from each
// row still free, then the column duals updated on the scanned columns and the path flipped; finish()
// then derives the row duals u and the total. Every solver entry ends here.
//
// Design choice, measured on this project's benchmark families: the Dijkstra relaxation runs over all
// columns densely with AVX2 (scanned columns masked by a NaN in d) instead of over JV's compacted
// "todo" list. The compacted list needs gathers; the dense pass streams the cost row, v, d and y and
// is several times faster per step even though it touches the already-scanned columns again.
#include <algorithm>
#include <limits>

#include "jv.hpp"
#include "relax_team.hpp"

namespace saematch::detail {

template <typename T, bool NEG>
LapResult JonkerVolgenant<T, NEG>::finish(const std::vector<int32_t>& freeRows, LapResult& r) {
  auto t1 = Clock::now();
  std::vector<double> d(nc_);
  std::vector<int32_t> pred(nc_, -1);
  std::vector<std::pair<int32_t, double>> scanned;
  {
    RelaxTeam<JonkerVolgenant> team(*this, nc_, freeRows.size(), options_.phase4_threads);
    for (int32_t f : freeRows) {
      checkCancel(cancel_);
      const bool found = augment(f, d, pred, scanned, r.stats, team);
      r.stats.helper_steps = team.helperSteps();
      r.stats.steps_taken_over = team.stepsTakenOver();
      if (!found) return r;
      ++r.stats.augmentations;
    }
  }
  r.stats.seconds_augment = secondsSince(t1);

  r.feasible = true;
  r.u.resize(nr_);
  for (int64_t i = 0; i < nr_; ++i) {
    int32_t j = x_[i];
    r.u[i] = at(i, j) - v_[j];
    r.total += static_cast<double>(c_[i * nc_ + j]);
  }
  r.x = std::move(x_);
  r.y = std::move(y_);
  r.v = std::move(v_);
  return std::move(r);
}

// Returns false when no free column is reachable from f (infeasible).
template <typename T, bool NEG>
bool JonkerVolgenant<T, NEG>::augment(int32_t f, std::vector<double>& d, std::vector<int32_t>& pred,
                                      std::vector<std::pair<int32_t, double>>& scanned, LapStats& stats,
                                      RelaxTeam<JonkerVolgenant>& team) {
  std::fill(d.begin(), d.end(), kInf);
  scanned.clear();
  MinAt a, u;
  team.relax(f, 0.0, d.data(), pred.data(), a, u);
  int32_t sink;
  double dmin;
  for (;;) {
    if (u.index >= 0 && u.value <= a.value) {  // prefer a free column on ties: shorter path
      sink = static_cast<int32_t>(u.index);
      dmin = u.value;
      break;
    }
    if (a.index < 0) return false;
    int32_t j = static_cast<int32_t>(a.index);
    dmin = a.value;
    scanned.emplace_back(j, dmin);
    d[j] = std::numeric_limits<double>::quiet_NaN();
    int32_t i = y_[j];
    double h = (at(i, j) - v_[j]) - dmin;
    a = MinAt{};
    u = MinAt{};
    team.relax(i, h, d.data(), pred.data(), a, u);
    ++stats.dijkstra_steps;
  }
  for (auto [j, dj] : scanned) v_[j] += dj - dmin;
  for (int32_t j = sink;;) {
    int32_t i = pred[j];
    y_[j] = i;
    int32_t next = x_[i];
    x_[i] = j;
    if (i == f) break;
    j = next;
  }
  return true;
}

// finish() ends every solve: the sequential JV for all four orientations (jv.cpp), the parallel
// initialisation and the warm start for square float32 minimisation.
template LapResult JonkerVolgenant<float, false>::finish(const std::vector<int32_t>&, LapResult&);
template LapResult JonkerVolgenant<float, true>::finish(const std::vector<int32_t>&, LapResult&);
template LapResult JonkerVolgenant<double, false>::finish(const std::vector<int32_t>&, LapResult&);
template LapResult JonkerVolgenant<double, true>::finish(const std::vector<int32_t>&, LapResult&);

}  // namespace saematch::detail
