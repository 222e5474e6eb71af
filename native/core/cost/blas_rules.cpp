// What this process's BLAS keeps bit for bit across call shapes, probed once per inner dimension.
// The sparse method recomputes rows and chosen pairs of the cost matrix and needs every entry to be
// the one the whole matrix had, bit for bit; OpenBLAS's sgemm gives an entry a value that depends on
// where its row falls in the micro-kernel's tiles: its SkylakeX kernels agree across calls whose row
// counts are whole multiples of 16, its Haswell kernels (every AVX2 machine without AVX-512, AMD Zen
// 2-3 included) only across multiples of 12, and over a subset of the columns they give some entries
// other values than the call over all of them, and a row keeps its value only in the same slot of a
// 12-row tile (BENCHMARKS.md, "BLAS call shapes"). Rather than a table of kernels, the rules are
// measured on this machine's BLAS: a reference product over 192 rows against the same rows in tiles
// of R (contiguous, and gathered in another order), then against subsets of the columns.
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <numeric>
#include <vector>

#include "cost.hpp"

namespace saematch {
namespace {

// Deterministic values in [-1, 1) (no std::random: the same probe on every platform).
std::vector<float> probeValues(int64_t count, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(count));
  uint64_t s = seed * 6364136223846793005ull + 1442695040888963407ull;
  for (float& x : v) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    x = static_cast<float>(static_cast<double>(s >> 40) / static_cast<double>(1ull << 23) - 1.0);
  }
  return v;
}

BlasRules probe(int64_t k) {
  BlasRules rules;
  if (!haveBlas()) return rules;
  constexpr int64_t kRows = 192;  // a multiple of every tile tried
  // Columns enough that a 16-row call is past OpenBLAS's small-matrix kernels (cost.hpp), and no
  // more than that needs: a probe of a few milliseconds.
  const int64_t n = std::clamp<int64_t>((static_cast<int64_t>(kBlasSmallProduct / (16.0 * static_cast<double>(k))) + 64) / 64 * 64 + 64, 512, 16384);
  const std::vector<float> a = probeValues(kRows * k, 1), b = probeValues(n * k, 2);
  std::vector<float> ref(static_cast<size_t>(kRows * n));
  gemmNT(GemmKernel::Blas, kRows, n, k, -2.0f, a.data(), b.data(), ref.data(), n, 1);
  auto same = [&](const float* got, int64_t row, const int64_t* cols, int64_t count) {
    for (int64_t q = 0; q < count; ++q)
      if (std::memcmp(got + q, ref.data() + row * n + (cols ? cols[q] : q), sizeof(float)) != 0) return false;
    return true;
  };
  // The rows in another order: a row's value must not depend on which rows share its tile or where
  // in the tile it sits (free placement: any order, a fixed stride through all 192), or only on its
  // slot (slotted: the tiles in reverse order, each row keeping its index mod the tile).
  auto keeps = [&](int64_t tile, bool slotted) {
    std::vector<float> tileA(static_cast<size_t>(tile * k)), out(static_cast<size_t>(tile * n));
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t r0 = 0; r0 < kRows; r0 += tile) {
        auto src = [&](int64_t r) {
          if (pass == 0) return r0 + r;
          return slotted ? kRows - tile - r0 + r : ((r0 + r) * 77) % kRows;
        };
        for (int64_t r = 0; r < tile; ++r) std::copy(a.begin() + src(r) * k, a.begin() + (src(r) + 1) * k, tileA.begin() + r * k);
        gemmNT(GemmKernel::Blas, tile, n, k, -2.0f, tileA.data(), b.data(), out.data(), n, 1);
        for (int64_t r = 0; r < tile; ++r)
          if (!same(out.data() + r * n, src(r), nullptr, n)) return false;
      }
    return true;
  };
  rules.row_tile = 0;
  for (const int64_t tile : {16, 24, 32, 48})
    if (keeps(tile, false)) {
      rules.row_tile = tile;
      break;
    }
  if (rules.row_tile == 0)
    for (const int64_t tile : {12, 16, 24, 32, 48})
      if (keeps(tile, true)) {
        rules.row_tile = tile;
        rules.slotted = true;
        break;
      }
  if (rules.row_tile == 0) {
    rules.column_subsets = false;
    return rules;
  }
  // Subsets of the columns, gathered (every third, and a shuffled half) and a prefix of odd width,
  // each at least as wide as a call past the small-matrix kernels.
  const int64_t tile = rules.row_tile;
  std::vector<std::vector<int64_t>> subsets(3);
  for (int64_t j = 0; j < n; j += 3) subsets[0].push_back(j);
  for (int64_t j = 0; j < n / 2; ++j) subsets[1].push_back((j * 97 + 13) % n);
  subsets[2].resize(static_cast<size_t>(n / 2 + 7));
  std::iota(subsets[2].begin(), subsets[2].end(), int64_t{0});
  std::vector<float> bx, out;
  for (const auto& cols : subsets) {
    const int64_t w = static_cast<int64_t>(cols.size());
    bx.resize(static_cast<size_t>(w * k));
    for (int64_t q = 0; q < w; ++q) std::copy(b.begin() + cols[q] * k, b.begin() + (cols[q] + 1) * k, bx.begin() + q * k);
    out.resize(static_cast<size_t>(tile * w));
    for (int64_t r0 = 0; r0 < kRows && rules.column_subsets; r0 += tile) {
      gemmNT(GemmKernel::Blas, tile, w, k, -2.0f, a.data() + r0 * k, bx.data(), out.data(), w, 1);
      for (int64_t r = 0; r < tile && rules.column_subsets; ++r) rules.column_subsets = same(out.data() + r * w, r0 + r, cols.data(), w);
    }
  }
  return rules;
}

}  // namespace

BlasRules blasRules(int64_t k) {
  static std::mutex m;
  static std::map<int64_t, BlasRules> known;
  std::lock_guard<std::mutex> lock(m);
  auto it = known.find(k);
  if (it == known.end()) it = known.emplace(k, probe(k)).first;
  return it->second;
}

}  // namespace saematch
