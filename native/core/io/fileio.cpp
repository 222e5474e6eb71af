#include "fileio.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <new>
#include <stdexcept>
#include <vector>

#include "../errors.hpp"  // Cancelled

#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define SAE_MATCH_CLMUL 1
#endif
#include "../parallel.hpp"

namespace saematch {

// Large buffers start on a 2 MiB boundary: transparent huge pages can then back all of them (the
// kernel only maps a huge page over an aligned 2 MiB range), and the first touch of a 256 MiB read
// costs 128 faults instead of 65536 (0.09 s instead of 0.15 s measured here; BENCHMARKS.md). The
// slack around the aligned range is unmapped at once, so the buffer is its own mapping and freeLarge
// unmaps exactly it.
void* allocLarge(size_t bytes) {
  if (bytes == 0) bytes = 1;
  constexpr size_t kHuge = size_t{2} << 20;
  if (bytes < kHuge) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return p;
  }
  const size_t span = bytes + kHuge;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t start = (base + kHuge - 1) & ~(kHuge - 1);
  const size_t pageBytes = (bytes + 4095) & ~size_t{4095};
  if (start > base) munmap(raw, start - base);
  if (base + span > start + pageBytes) munmap(reinterpret_cast<void*>(start + pageBytes), base + span - (start + pageBytes));
  void* p = reinterpret_cast<void*>(start);
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);
#endif
  return p;
}

void freeLarge(void* p, size_t bytes) {
  if (p) munmap(p, bytes == 0 ? 1 : bytes);
}

namespace {

// Slicing-by-8 tables for the reflected ZIP polynomial.
struct CrcTables {
  uint32_t t[8][256];
  CrcTables() {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
};
const CrcTables& tables() {
  static const CrcTables tab;
  return tab;
}

uint32_t gf2Times(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  for (int i = 0; vec; ++i, vec >>= 1)
    if (vec & 1) sum ^= mat[i];
  return sum;
}
void gf2Square(uint32_t* sq, const uint32_t* mat) {
  for (int n = 0; n < 32; ++n) sq[n] = gf2Times(mat, mat[n]);
}

// The CRC register (not inverted) after feeding n bytes, by table: the reference path and the tail.
uint32_t crcRawTable(uint32_t c, const uint8_t* p, size_t n) {
  const auto& t = tables().t;
  while (n && (reinterpret_cast<uintptr_t>(p) & 7)) {
    c = t[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    --n;
  }
  while (n >= 8) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= c;
    c = t[7][lo & 0xFF] ^ t[6][(lo >> 8) & 0xFF] ^ t[5][(lo >> 16) & 0xFF] ^ t[4][lo >> 24] ^
        t[3][hi & 0xFF] ^ t[2][(hi >> 8) & 0xFF] ^ t[1][(hi >> 16) & 0xFF] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n--) c = t[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
  return c;
}

#ifdef SAE_MATCH_CLMUL
// Carry-less multiplication folding (Gopal et al., "Fast CRC Computation for Generic Polynomials Using
// PCLMULQDQ", Intel 2009), reflected form: four 128-bit lanes are folded 64 bytes at a time with
// x^(4*128+-32) mod P, then into one lane with x^(128+-32) mod P (the constants of Linux's
// crc32-pclmul). The folded lane is congruent to the data consumed, so its 16 bytes run through the
// table give the register; that replaces the Barrett reduction. It is much faster than slicing-by-8
// (BENCHMARKS.md).
__attribute__((target("pclmul,sse4.1"))) inline __m128i clmulFold(__m128i x, __m128i k, __m128i next) {
  return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11)), next);
}

__attribute__((target("pclmul,sse4.1"))) uint32_t crcRawClmul(uint32_t c, const uint8_t* p, size_t n) {
  if (n < 64) return crcRawTable(c, p, n);
  const __m128i k4 = _mm_set_epi64x(0x1c6e41596LL, 0x154442bd4LL);  // hi: R2, lo: R1
  const __m128i k1 = _mm_set_epi64x(0x0ccaa009eLL, 0x1751997d0LL);  // hi: R4, lo: R3
  auto load = [](const uint8_t* q) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(q)); };
  auto fold = clmulFold;
  __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(c)));
  __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
  p += 64;
  n -= 64;
  for (; n >= 64; p += 64, n -= 64) {
    x0 = fold(x0, k4, load(p));
    x1 = fold(x1, k4, load(p + 16));
    x2 = fold(x2, k4, load(p + 32));
    x3 = fold(x3, k4, load(p + 48));
  }
  __m128i x = fold(x0, k1, x1);
  x = fold(x, k1, x2);
  x = fold(x, k1, x3);
  for (; n >= 16; p += 16, n -= 16) x = fold(x, k1, load(p));
  alignas(16) uint8_t lane[16];
  _mm_store_si128(reinterpret_cast<__m128i*>(lane), x);
  return crcRawTable(crcRawTable(0, lane, 16), p, n);
}

bool cpuHasClmul() {
  static const bool has = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return has;
}
#endif

}  // namespace

uint32_t crc32Update(uint32_t crc, const uint8_t* p, size_t n) {
#ifdef SAE_MATCH_CLMUL
  if (cpuHasClmul()) return ~crcRawClmul(~crc, p, n);
#endif
  return ~crcRawTable(~crc, p, n);
}

uint32_t crc32UpdateTable(uint32_t crc, const uint8_t* p, size_t n) { return ~crcRawTable(~crc, p, n); }

// Appending len_b zero bits to A is a linear map on the CRC register; apply it by repeated squaring.
uint32_t crc32Combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  if (len_b == 0) return crc_a;
  uint32_t even[32], odd[32];
  odd[0] = 0xEDB88320u;  // operator for one zero bit
  for (int n = 1; n < 32; ++n) odd[n] = 1u << (n - 1);
  gf2Square(even, odd);  // two zero bits
  gf2Square(odd, even);  // four zero bits
  do {
    gf2Square(even, odd);
    if (len_b & 1) crc_a = gf2Times(even, crc_a);
    len_b >>= 1;
    if (!len_b) break;
    gf2Square(odd, even);
    if (len_b & 1) crc_a = gf2Times(odd, crc_a);
    len_b >>= 1;
  } while (len_b);
  return crc_a ^ crc_b;
}

ReadResult readRange(const std::string& path, uint64_t offset, uint64_t length, void* dst,
                     int threads, bool crc, const std::atomic<bool>* cancel) {
  auto t0 = std::chrono::steady_clock::now();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  // 8 MiB chunks: large enough to amortise the syscall, small enough to CRC while still in L3.
  const uint64_t chunk = uint64_t{8} << 20;
  const int64_t nchunks = static_cast<int64_t>((length + chunk - 1) / chunk);
  std::vector<uint32_t> crcs(nchunks, 0);
  std::vector<uint64_t> got(nchunks, 0);
  if (threads <= 0) threads = hardwareThreads();
  std::atomic<int64_t> next{0};
  std::string error;
  std::mutex m;
  parallelFor(threads, threads, 1, [&](int64_t, int64_t, int) {
    for (int64_t c; (c = next.fetch_add(1)) < nchunks;) {
      if (cancel && cancel->load(std::memory_order_relaxed)) return;
      uint64_t begin = c * chunk, len = std::min(chunk, length - begin);
      uint8_t* out = static_cast<uint8_t*>(dst) + begin;
      uint64_t done = 0;
      while (done < len) {
        ssize_t r = pread(fd, out + done, len - done, static_cast<off_t>(offset + begin + done));
        if (r < 0) {
          if (errno == EINTR) continue;
          std::lock_guard<std::mutex> lock(m);
          if (error.empty()) error = std::string("cannot read ") + path + ": " + std::strerror(errno);
          return;
        }
        if (r == 0) break;
        done += static_cast<uint64_t>(r);
      }
      got[c] = done;
      if (crc) crcs[c] = crc32Update(0, out, done);
    }
  });
  close(fd);
  if (!error.empty()) throw std::runtime_error(error);
  if (cancel && cancel->load()) throw Cancelled();
  ReadResult r;
  for (int64_t c = 0; c < nchunks; ++c) {
    if (crc) r.crc32 = c == 0 ? crcs[0] : crc32Combine(r.crc32, crcs[c], got[c]);
    r.bytes_read += got[c];
    if (got[c] < std::min(chunk, length - c * chunk)) break;  // the file ended inside this chunk
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace saematch
