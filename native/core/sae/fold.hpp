// SAE Match's per-layer arithmetic (paper eq. 4 and the feature vectors of eq. 3): folding the
// JumpReLU threshold into the weights, assembling one feature vector per latent, and the scans the
// TypeScript validation needs (non-finite values, non-positive thresholds) without a JS loop over
// hundreds of millions of floats.
#pragma once

#include <cstdint>

namespace saematch {

struct ValueScan {
  int64_t non_finite = 0;
  int64_t first_non_finite = -1;
  int64_t non_positive = 0;  // among the finite values
  int64_t first_non_positive = -1;
  double min = 0, max = 0;   // over the finite values
};
ValueScan scanValues(const float* x, int64_t n, int threads);

// Which parts of the folded parameters make up a feature vector (paper §3: decoder, encoder, both).
struct FeatureParts {
  bool dec = true;      // W_dec'[i, :] = W_dec[i, :] * theta_i
  bool enc = true;      // W_enc'[:, i] = W_enc[:, i] / theta_i
  float bias_weight = 0;  // > 0 appends bias_weight * b_enc'[i] = bias_weight * b_enc[i] / theta_i
  bool fold = true;     // false: theta is taken as 1 (unfolded parameters)
};
int64_t featureDim(int64_t d_in, int64_t d_out, const FeatureParts& parts);

// W_enc [d_in, d_sae], W_dec [d_sae, d_out] (d_out = d_in except for transcoders), b_enc and
// threshold [d_sae], row-major float32. out: d_sae x featureDim row-major, decoder part first.
// threshold is the per-latent fold scale (a JumpReLU threshold, or 1/||W_dec[i]|| for ReLU-like
// architectures); it may be null when parts.fold is false.
void buildFeatures(const float* W_enc, const float* W_dec, const float* b_enc, const float* threshold,
                   int64_t d_in, int64_t d_out, int64_t d_sae, const FeatureParts& parts, float* out,
                   int threads);

// The folded SAE itself (theta' = 1): outputs may alias the inputs.
void foldThreshold(const float* W_enc, const float* W_dec, const float* b_enc, const float* threshold,
                   int64_t d_in, int64_t d_out, int64_t d_sae, float* W_enc_out, float* W_dec_out,
                   float* b_enc_out, int threads);

// Euclidean norm of each row of x [rows, cols], accumulated in double: the decoder norms that the
// ReLU-like architectures fold by.
void rowNorms(const float* x, int64_t rows, int64_t cols, double* out, int threads);

// x[i, c] *= scalar * row_scale[i] * col_scale[c] in place (either scale may be null), computed in
// double and rounded once: a loader's conversion to model units (Llama Scope's dataset norm, a gated
// SAE's magnitude encoder W_enc * exp(r_mag)).
void scaleMatrix(float* x, int64_t rows, int64_t cols, const double* row_scale, const double* col_scale,
                 double scalar, int threads);

// dst [cols, rows] = src [rows, cols] transposed: loaders whose encoder is stored [d_sae, d_in]
// (sparsify, Llama Scope) hand it on as SAE Match's W_enc [d_in, d_sae].
void transpose(const float* src, int64_t rows, int64_t cols, float* dst, int threads);

// IEEE half (F16) or bfloat16 (BF16) bits to float32.
void halfToFloat(const uint16_t* src, int64_t n, bool bfloat16, float* dst, int threads);

}  // namespace saematch
