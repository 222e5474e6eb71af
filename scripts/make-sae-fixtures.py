#!/usr/bin/env python3
"""Writes the SAE weight-file fixtures in test/fixtures/sae/ with numpy and Python's own zipfile.

Re-runnable and deterministic: `python3 scripts/make-sae-fixtures.py` (needs numpy only; not a
runtime dependency). One small JumpReLU SAE (d_model=24, d_sae=40, thresholds > 0) in every layout
the readers accept:

  params.npz             np.savez (stored members; numpy already opens each member with
                         force_zip64=True, so every local header carries a ZIP64 extra field)
  params_compressed.npz  np.savez_compressed (deflate)
  params_zip64.npz       zipfile with force_zip64 and ZIP64_LIMIT patched to 0 while writing, so the
                         central directory also carries ZIP64 extras (sizes, offsets) and the archive
                         ends with the ZIP64 end-of-central-directory record and locator
  params_stream.npz      zipfile writing to a non-seekable stream: general-purpose bit 3 set, zero
                         CRC/sizes in the local headers, ZIP64 data descriptors after the data
  npy/                   W_enc.npy ... threshold.npy (np.save)
  saelens_{f32,f16,bf16}/sae_weights.safetensors + cfg.json, written by the tiny writer below
  special_{f16,bf16}.safetensors  one tensor 'special' of edge values (subnormals, ties, overflow,
                         inf, nan) pinning the float32 <-> half conversions
  expected/{f32,f16,bf16}/<name>.npy  float32 values after the round trip through the file dtype
                         (numpy astype(float16) for F16; RNE of the float32 bits for BF16)

The safetensors writer matches src/safetensors.ts byte for byte (compact JSON, __metadata__ first,
tensor keys sorted, data in key order, header padded with spaces to a multiple of 8), so the tests
can also compare our writer's output with these files.
"""

import io
import json
import os
import shutil
import struct
import zipfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "sae")
D_MODEL, D_SAE = 24, 40

rng = np.random.default_rng(20250117)


def make_sae():
    """Weights that look like a trained JumpReLU SAE; float32, C order, thresholds in (0.05, 0.5)."""
    w_dec = rng.standard_normal((D_SAE, D_MODEL)).astype(np.float32)
    w_dec /= np.linalg.norm(w_dec, axis=1, keepdims=True)
    w_enc = (w_dec.T * rng.uniform(0.5, 2.0, D_SAE)).astype(np.float32)
    w_enc += (0.05 * rng.standard_normal(w_enc.shape)).astype(np.float32)
    return {
        "W_enc": np.ascontiguousarray(w_enc, dtype=np.float32),
        "W_dec": np.ascontiguousarray(w_dec, dtype=np.float32),
        "threshold": rng.uniform(0.05, 0.5, D_SAE).astype(np.float32),
        "b_enc": (0.1 * rng.standard_normal(D_SAE)).astype(np.float32),
        "b_dec": (0.1 * rng.standard_normal(D_MODEL)).astype(np.float32),
    }


def npy_bytes(a):
    f = io.BytesIO()
    np.lib.format.write_array(f, a, allow_pickle=False)
    return f.getvalue()


def write_zip64_everywhere(path, arrays):
    """Like np.savez, but with ZIP64 extras in the central directory and ZIP64 end records too."""
    saved = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 0  # read at write time by _write_end_record: every size/offset > 0 "needs" ZIP64
    try:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key, val in arrays.items():
                with zf.open(key + ".npy", "w", force_zip64=True) as fid:
                    fid.write(npy_bytes(val))
    finally:
        zipfile.ZIP64_LIMIT = saved


class NonSeekable(io.RawIOBase):
    """A write-only stream without tell/seek, which makes zipfile use data descriptors."""

    def __init__(self, f):
        self.f = f

    def writable(self):
        return True

    def write(self, b):
        return self.f.write(b)


def write_streamed(path, arrays):
    with open(path, "wb") as raw:
        with zipfile.ZipFile(NonSeekable(raw), "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for key, val in arrays.items():
                with zf.open(key + ".npy", "w", force_zip64=True) as fid:
                    fid.write(npy_bytes(val))


# --- float32 -> half conversions ---------------------------------------------------------------


def to_bf16_bits(a):
    """float32 -> bfloat16 bits by round-to-nearest-even of the upper 16 bits; NaN stays NaN."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    rounded = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    nan = np.isnan(a)
    rounded[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return rounded


def bf16_bits_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def convert(a, dtype):
    """(raw little-endian bytes in the file dtype, float32 values a reader must return)."""
    a = np.ascontiguousarray(a, dtype=np.float32)
    if dtype == "F32":
        return a.astype("<f4").tobytes(), a.copy()
    if dtype == "F16":
        with np.errstate(over="ignore"):  # overflow to inf is the point of some special values
            h = a.astype("<f2")
        return h.tobytes(), h.astype(np.float32)
    bits = to_bf16_bits(a)
    return bits.astype("<u2").tobytes(), bf16_bits_to_f32(bits)


def write_safetensors(path, tensors, dtype, metadata):
    """Returns the float32 values after conversion, per tensor."""
    header = {"__metadata__": metadata} if metadata else {}
    blobs, expected, offset = [], {}, 0
    for name in sorted(tensors):
        raw, back = convert(tensors[name], dtype)
        header[name] = {"dtype": dtype, "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        expected[name] = back
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return expected


def special_values():
    """Edge cases of the float32 -> F16/BF16 roundings, plus a few ordinary values."""
    f16_min_sub = 2.0**-24
    vals = [
        0.0, -0.0, 1.0, -1.0, 0.1, -2.5, 3.14159265,
        65504.0, 65519.99, 65520.0, -65520.0, 1e6, -1e6,  # F16 max, just below the tie, the tie (-> inf)
        float("inf"), float("-inf"), float("nan"),
        2.0**-14, -(2.0**-14), 2.0**-14 - 2.0**-24,  # smallest normal half, largest subnormal
        f16_min_sub, -f16_min_sub, 2.0**-25, 3 * 2.0**-25, 2.0**-25 * 1.0001, 1e-8, 5e-8, 1e-30,
        1.0 + 2.0**-11, 1.0 + 3 * 2.0**-11,  # F16 ties to even
        1.0 + 2.0**-8, 1.0 + 3 * 2.0**-8, 1.0 + 2.0**-8 + 2.0**-20,  # BF16 ties and just above
        3.4028234663852886e38, -3.4028234663852886e38, 3.3895313892515355e38,  # f32 max (-> BF16 inf), BF16 max
        1.1754943508222875e-38, 1e-40,  # smallest normal float32, a float32 subnormal
    ]
    extra = rng.standard_normal(64 + (-len(vals) % 4)).astype(np.float32) * np.float32(100)
    return np.concatenate([np.array(vals, dtype=np.float32), extra]).reshape(-1, 4)


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    sae = make_sae()

    np.savez(os.path.join(OUT, "params.npz"), **sae)
    np.savez_compressed(os.path.join(OUT, "params_compressed.npz"), **sae)
    write_zip64_everywhere(os.path.join(OUT, "params_zip64.npz"), sae)
    write_streamed(os.path.join(OUT, "params_stream.npz"), sae)
    os.makedirs(os.path.join(OUT, "npy"))
    for k, v in sae.items():
        np.save(os.path.join(OUT, "npy", k + ".npy"), v)

    special = special_values()
    for dtype in ("F32", "F16", "BF16"):
        low = dtype.lower()
        folder = os.path.join(OUT, f"saelens_{low}")
        os.makedirs(folder)
        meta = {"format": "pt", "source": "make-sae-fixtures.py"}
        expected = write_safetensors(os.path.join(folder, "sae_weights.safetensors"), sae, dtype, meta)
        cfg = {"architecture": "jumprelu", "d_in": D_MODEL, "d_sae": D_SAE, "dtype": {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}[dtype]}
        with open(os.path.join(folder, "cfg.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        if dtype != "F32":
            expected.update(write_safetensors(os.path.join(OUT, f"special_{low}.safetensors"), {"special": special}, dtype, None))
        else:
            expected["special"] = special.copy()
        os.makedirs(os.path.join(OUT, "expected", low))
        for name, values in expected.items():
            np.save(os.path.join(OUT, "expected", low, name + ".npy"), values)

    # Self-checks: numpy reads every archive back identically and zipfile finds no bad CRC.
    for name in ("params.npz", "params_compressed.npz", "params_zip64.npz", "params_stream.npz"):
        path = os.path.join(OUT, name)
        with zipfile.ZipFile(path) as zf:
            assert zf.testzip() is None, name
        with np.load(path) as z:
            assert sorted(z.files) == sorted(sae), name
            for k in sae:
                assert z[k].dtype == np.float32 and np.array_equal(z[k], sae[k]), (name, k)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()
