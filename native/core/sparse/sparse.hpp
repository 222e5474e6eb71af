// The sparse exact method (SAE Match without the dense matrix). The cost matrix is streamed panel by
// panel and never stored: each panel keeps, per row and per column, the k lowest-cost candidates and
// the k-th lowest value, a bound every dropped entry respects. The assignment is solved exactly on
// the candidate graph; then pricing proves, from the bounds and the duals, that no dropped pair has
// a negative reduced cost, evaluating exactly (recomputed rows, bit-identical to the dense matrix's)
// only the pairs no bound covers, adding any violator to the graph and re-solving from the warm start
// until none is left. The result is the dense problem's optimum with a certificate over all n^2
// pairs, in O(n k) memory.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../cost/cost.hpp"
#include "../large_vector.hpp"

namespace saematch::sparse {

// The streaming pass's output, two lists per row and per column. Row i keeps row_idx/row_cost[i*k ..
// i*k+k), its k lowest entries (ascending, ties by column), and every entry of row i not kept is >=
// row_bound[i] (+inf when nothing was dropped). Squared Euclidean costs carry ||b_j||^2 (beta_j) in
// every entry of column j, which spreads a row's entries and its duals v_j alike, so a bound on c_ij
// alone proves little; row i therefore also keeps the k lowest c_ij - beta_j (row_idx2/row_cost2,
// the costs themselves), and every entry it drops has c_ij - beta_j >= row_bound2[i]. Columns the
// same over rows, with alpha_i = ||a_i||^2. A pair dropped by both of its row's lists and both of its
// column's is covered by all four bounds. Entries are the dense matrix's, bit for bit.
struct Candidates {
  int64_t n_rows = 0, n_cols = 0, k_row = 0, k_col = 0;
  bool offsets = false;  // the second lists exist (squared Euclidean); else they are empty
  LargeVector<int32_t> row_idx, col_idx, row_idx2, col_idx2;
  LargeVector<float> row_cost, col_cost, row_cost2, col_cost2;
  std::vector<float> row_bound, col_bound;
  std::vector<double> row_bound2, col_bound2;
  std::vector<double> alpha, beta;
  // Each row's longer lists (k_keep >= k_row entries by c, ascending, and by c - beta, its k_row
  // lowest first but in no order; the graph's row lists are their first k_row), with the bounds of what they drop: pricing checks these entries
  // from memory and needs a row recomputed only where even these bounds leave pairs open. A row
  // list costs the stream little (its offers are sequential); the column lists stay at k.
  int64_t k_keep = 0;
  LargeVector<int32_t> keep_idx, keep_idx2;
  LargeVector<float> keep_cost, keep_cost2;
  std::vector<float> keep_bound;
  std::vector<double> keep_bound2;
  double seconds = 0;
};

// Streams the matrix of `panels` in panels of panel_rows rows (one GEMM each, norms fused, as the
// dense cost kernel) and keeps k candidates per row and per column. progress(rows done) after each panel.
// k per column, k_row per row for the graph, and k_keep (>= k_row) entries of every row in the longer lists.
Candidates streamCandidates(const PanelSource& panels, int64_t k, int64_t k_row, int64_t k_keep, int64_t panel_rows,
                            const std::atomic<bool>* cancel, const std::function<void(int64_t)>& progress);

// The candidate graph as compressed rows: row i's edges are col/cost[ptr[i] .. ptr[i+1]), columns
// ascending and distinct.
struct Graph {
  int64_t n_rows = 0, n_cols = 0;
  std::vector<int64_t> ptr;
  LargeVector<int32_t> col;
  LargeVector<float> cost;
  int64_t edges() const { return static_cast<int64_t>(col.size()); }
};

// One extra edge (from pricing or a row computed whole).
struct Edge {
  int32_t row, col;
  float cost;
};

// Row and column candidates, plus `extra`, deduplicated.
Graph buildGraph(const Candidates& c, const std::vector<Edge>& extra);

// g with the edges `more` merged in (deduplicated), without rebuilding from the lists.
Graph addEdges(const Graph& g, std::vector<Edge> more);

// The assignment state of the sparse solver: x row -> column, y column -> row (-1 free), v the
// column duals; u_i = c[i, x_i] - v[x_i] is implied for assigned rows.
struct State {
  std::vector<int32_t> x, y;
  std::vector<double> v;
  std::vector<float> xc;  // c[i, x_i] for assigned rows (a Dijkstra step needs it for every row it passes)
};

struct SolveStats {
  int64_t augmentations = 0, heap_pops = 0, edge_scans = 0;
  int64_t free_after_cold = 0;  // rows the column minima left free
  int64_t free_after_init = 0;  // ... and the augmenting row reduction after them (the paths' share)
  int64_t arr_scans = 0;        // row scans of the augmenting row reduction
  int64_t row_keyings = 0;      // rows (re)sorted by their edges' reduced costs for the paths' scans
  double seconds = 0;
};

// The least edge cost of every column (+inf where a column has no edge).
std::vector<double> columnMinima(const Graph& g);

// Column minima for v and every row whose cheapest reduced column is still free gets it: a dual
// feasible start on the graph (every column needs an edge: the column candidates give it k).
void coldStart(const Graph& g, State& s, SolveStats& stats);

// JV's augmenting row reduction over the graph's edges for the rows coldStart left free (it ends
// coldStart): settles most of them with one scan of their edges each, dual feasible on every edge.
void reduceRows(const Graph& g, State& s, SolveStats& stats);

// Shortest augmenting paths (Dijkstra with a 4-ary heap over the graph's edges, a row's scan cut
// short by its edges' sorted lower bounds) for every free row,
// keeping every edge's reduced cost c_ij - u_i - v_j >= 0. Rows that reach no free column through
// the graph are returned (the graph has no perfect matching with them): the caller enlarges it.
std::vector<int32_t> augmentFree(const Graph& g, State& s, SolveStats& stats, const std::atomic<bool>* cancel);

// What pricing found over all n_rows x n_cols pairs.
struct Pricing {
  int64_t pairs = 0;               // n_rows * n_cols
  int64_t in_graph = 0;            // pairs that are edges of the final graph (their reduced costs checked)
  int64_t proven_by_row_bound = 0;
  int64_t proven_by_col_bound = 0;
  int64_t evaluated = 0;           // pairs recomputed exactly (rows recomputed whole)
  int64_t rows_evaluated = 0;
  int64_t rows_partial = 0;        // of those, over all rounds: evaluated on their open pairs only (panels.prefixBlock)
  int64_t rounds = 0;              // pricing rounds (the last found nothing)
  int64_t violations_added = 0;    // pairs added to the graph over all rounds
  int64_t rows_completed = 0;      // rows added whole because the graph gave them no augmenting path
  int64_t rows_made_whole = 0;     // rows recomputed in two rounds, then added whole (all their entries edges)
  int64_t cold_restarts = 0;       // rectangular rounds solved again from the cold start (a freed column left free)
  double max_violation = 0;        // worst -(reduced cost) over every pair, after the last round
  // SAE_MATCH_SPARSE_CHECK set (tests): pricing's shortcuts checked the slow way as it runs: the
  // counts of open and evaluated pairs by a binary search per pair, and every b3 / b3Open bound a
  // row keeps against the row recomputed whole. How many checks, and how many failed (0 when sound).
  int64_t self_checks = 0, self_check_failures = 0;
  double tolerance = 0;
  bool ok = false;
  std::string message;
  double seconds = 0;
};

struct Result {
  std::vector<int32_t> x;
  std::vector<double> u, v;
  std::vector<float> assigned_cost;  // c[i, x_i]
  double total = 0;
  Candidates cand;                   // kept for --topk
  int64_t graph_edges = 0;
  SolveStats solve;
  Pricing pricing;
  double seconds_stream = 0, seconds_solve = 0, seconds_pricing = 0;
};

struct Options {
  int64_t k = 16;              // candidates per column, and the base of the rest (src/solve/sparse.ts DEFAULT_CANDIDATES)
  // Candidates per row in the graph (0: 2 k). Measured (BENCHMARKS.md, "The sparse method"): peaked
  // rows (the synthetic suites) want more, whose violators then need fewer re-solves; flat rows
  // (learned SAEs) want fewer, every Dijkstra step scanning them; 2k of k = 16 is the compromise.
  int64_t k_row = 0;
  int64_t panel_rows = 2048;   // rows per streamed panel (as the dense kernel's)
  double tolerance = 0;        // <= 0: 1e-9 * (1 + the largest cost seen)
  // Pricing evaluates the rows that bounds leave open; past this share of all rows it recomputes the
  // whole matrix once instead (a second streaming pass, with every pair checked).
  double full_pass_share = 0.25;
  // Entries per row in the longer lists the stream keeps (0: max(256, 8 k)).
  int64_t k_keep = 0;
  // Kept entries per row that join the graph before the solve, those of least c_ij - v_j under the
  // start's duals (negative: k; 0: none; square pairs only).
  int64_t k_start = -1;
  // The stream alone, no assignment (the benchmark of the pass against the dense kernel).
  bool stream_only = false;
};

// progress(phase, done, total): phase "stream" (rows), "solve" (rows assigned), "pricing" (round).
using Progress = std::function<void(const char*, int64_t, int64_t)>;

// The whole method for a pair of feature matrices a (n_a x dim) and b (n_b x dim), n_a <= n_b: every
// row of a assigned, and with n_a < n_b the columns left free certified at a common, highest dual.
Result solveSparse(const PanelSource& panels, const Options& opt, const std::atomic<bool>* cancel,
                   const Progress& progress);

}  // namespace saematch::sparse
