#include "fold.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <mutex>
#include <vector>

#include "../parallel.hpp"

namespace saematch {

ValueScan scanValues(const float* x, int64_t n, int threads) {
  if (threads <= 0) threads = hardwareThreads();
  std::vector<ValueScan> parts(std::max(parallelParts(n, threads, 1 << 16), 1));
  parallelFor(n, threads, 1 << 16, [&](int64_t b, int64_t e, int t) {
    ValueScan s;
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (int64_t i = b; i < e; ++i) {
      float v = x[i];
      if (!std::isfinite(v)) {
        if (s.non_finite++ == 0) s.first_non_finite = i;
        continue;
      }
      if (v <= 0 && s.non_positive++ == 0) s.first_non_positive = i;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    s.min = lo;
    s.max = hi;
    parts[t] = s;
  });
  ValueScan r;
  r.min = std::numeric_limits<double>::infinity();
  r.max = -r.min;
  for (const auto& s : parts) {  // chunks are in index order, so the first hit wins
    if (s.non_finite && r.first_non_finite < 0) r.first_non_finite = s.first_non_finite;
    if (s.non_positive && r.first_non_positive < 0) r.first_non_positive = s.first_non_positive;
    r.non_finite += s.non_finite;
    r.non_positive += s.non_positive;
    if (s.min <= s.max) {
      r.min = std::min(r.min, s.min);
      r.max = std::max(r.max, s.max);
    }
  }
  if (!(r.min <= r.max)) r.min = r.max = 0;
  return r;
}

int64_t featureDim(int64_t d_in, int64_t d_out, const FeatureParts& p) {
  return (p.dec ? d_out : 0) + (p.enc ? d_in : 0) + (p.bias_weight > 0 ? 1 : 0);
}

void buildFeatures(const float* W_enc, const float* W_dec, const float* b_enc, const float* threshold,
                   int64_t d_in, int64_t d_out, int64_t d_sae, const FeatureParts& p, float* out, int threads) {
  if (threads <= 0) threads = hardwareThreads();
  const int64_t dim = featureDim(d_in, d_out, p);
  const int64_t encAt = p.dec ? d_out : 0, biasAt = encAt + (p.enc ? d_in : 0);
  // W_enc is [d_in, d_sae]: its column i becomes part of row i, a transpose. Blocks of 64 latents
  // keep the 64 destination rows' cache lines live while the source rows stream by.
  constexpr int64_t B = 64;
  parallelFor(d_sae, threads, B, [&](int64_t b, int64_t e, int) {
    for (int64_t i0 = b; i0 < e; i0 += B) {
      const int64_t i1 = std::min(e, i0 + B);
      float scale[B], inv[B];
      for (int64_t i = i0; i < i1; ++i) {
        float th = p.fold ? threshold[i] : 1.0f;
        scale[i - i0] = th;
        inv[i - i0] = 1.0f / th;
      }
      if (p.dec)
        for (int64_t i = i0; i < i1; ++i) {
          const float* src = W_dec + i * d_out;
          float* dst = out + i * dim;
          const float s = scale[i - i0];
          for (int64_t c = 0; c < d_out; ++c) dst[c] = src[c] * s;
        }
      if (p.enc)
        for (int64_t r = 0; r < d_in; ++r) {
          const float* src = W_enc + r * d_sae;
          for (int64_t i = i0; i < i1; ++i) out[i * dim + encAt + r] = src[i] * inv[i - i0];
        }
      if (p.bias_weight > 0)
        for (int64_t i = i0; i < i1; ++i) out[i * dim + biasAt] = p.bias_weight * b_enc[i] * inv[i - i0];
    }
  });
}

void foldThreshold(const float* W_enc, const float* W_dec, const float* b_enc, const float* threshold,
                   int64_t d_in, int64_t d_out, int64_t d_sae, float* W_enc_out, float* W_dec_out,
                   float* b_enc_out, int threads) {
  if (threads <= 0) threads = hardwareThreads();
  std::vector<float> inv(d_sae);
  for (int64_t i = 0; i < d_sae; ++i) inv[i] = 1.0f / threshold[i];
  parallelFor(d_in, threads, 16, [&](int64_t b, int64_t e, int) {
    for (int64_t r = b; r < e; ++r)
      for (int64_t i = 0; i < d_sae; ++i) W_enc_out[r * d_sae + i] = W_enc[r * d_sae + i] * inv[i];
  });
  parallelFor(d_sae, threads, 64, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      for (int64_t c = 0; c < d_out; ++c) W_dec_out[i * d_out + c] = W_dec[i * d_out + c] * threshold[i];
      b_enc_out[i] = b_enc[i] * inv[i];
    }
  });
}

void rowNorms(const float* x, int64_t rows, int64_t cols, double* out, int threads) {
  if (threads <= 0) threads = hardwareThreads();
  parallelFor(rows, threads, 64, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      const float* r = x + i * cols;
      double s = 0;
      for (int64_t c = 0; c < cols; ++c) s += static_cast<double>(r[c]) * r[c];
      out[i] = std::sqrt(s);
    }
  });
}

void scaleMatrix(float* x, int64_t rows, int64_t cols, const double* row_scale, const double* col_scale,
                 double scalar, int threads) {
  if (threads <= 0) threads = hardwareThreads();
  parallelFor(rows, threads, 16, [&](int64_t b, int64_t e, int) {
    for (int64_t i = b; i < e; ++i) {
      float* r = x + i * cols;
      const double s = scalar * (row_scale ? row_scale[i] : 1.0);
      if (col_scale)
        for (int64_t c = 0; c < cols; ++c) r[c] = static_cast<float>(r[c] * s * col_scale[c]);
      else
        for (int64_t c = 0; c < cols; ++c) r[c] = static_cast<float>(r[c] * s);
    }
  });
}

void transpose(const float* src, int64_t rows, int64_t cols, float* dst, int threads) {
  if (threads <= 0) threads = hardwareThreads();
  // 32 x 32 blocks: both the 32 source rows and the 32 destination rows stay in L1.
  constexpr int64_t B = 32;
  parallelFor(rows, threads, B, [&](int64_t b, int64_t e, int) {
    for (int64_t r0 = b; r0 < e; r0 += B)
      for (int64_t c0 = 0; c0 < cols; c0 += B) {
        const int64_t r1 = std::min(e, r0 + B), c1 = std::min(cols, c0 + B);
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c) dst[c * rows + r] = src[r * cols + c];
      }
  });
}

namespace {
float halfBits(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13);  // inf / nan
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal half: man * 2^-24, exact in float32
    float f = static_cast<float>(man) * 5.9604644775390625e-8f;
    return sign ? -f : f;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
}  // namespace

void halfToFloat(const uint16_t* src, int64_t n, bool bfloat16, float* dst, int threads) {
  if (threads <= 0) threads = hardwareThreads();
  static const std::vector<float> lut = [] {
    std::vector<float> t(65536);
    for (uint32_t h = 0; h < 65536; ++h) t[h] = halfBits(static_cast<uint16_t>(h));
    return t;
  }();
  parallelFor(n, threads, 1 << 16, [&](int64_t b, int64_t e, int) {
    if (bfloat16) {
      for (int64_t i = b; i < e; ++i) {
        uint32_t bits = static_cast<uint32_t>(src[i]) << 16;
        std::memcpy(dst + i, &bits, 4);
      }
    } else {
      for (int64_t i = b; i < e; ++i) dst[i] = lut[src[i]];
    }
  });
}

}  // namespace saematch
