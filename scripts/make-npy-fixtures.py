#!/usr/bin/env python3
"""Writes the .npy test fixtures in test/fixtures/npy/ with numpy's own writers.

Re-runnable: `python3 scripts/make-npy-fixtures.py` (needs numpy; not a runtime dependency).
Also writes test/fixtures/npy/expected.json: for every readable fixture its dtype, shape and values
as numpy sees them, as a flat C-order list. Floats are JSON numbers, except NaN/Infinity/-Infinity
which are the strings "nan", "inf", "-inf"; float16 values are the raw uint16 bit patterns
(a.view(np.uint16)); int64/uint64 values are decimal strings; bools are 0/1.
The unreadable fixtures are listed under "errors" with a fragment the error message must contain.
"""

import json
import os
import shutil

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "npy")

rng = np.random.default_rng(20240611)


def save(name, a, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, a, allow_pickle=False)
    else:
        with open(path, "wb") as f:
            np.lib.format.write_array(f, a, version=version, allow_pickle=False)
    return path


def flat_values(a):
    a = np.ascontiguousarray(a)
    dt = a.dtype
    if dt == np.float16:
        return [int(x) for x in a.view(np.uint16).ravel()]
    if dt.kind == "f":
        out = []
        for x in a.ravel():
            x = float(x)
            if np.isnan(x):
                out.append("nan")
            elif np.isinf(x):
                out.append("inf" if x > 0 else "-inf")
            else:
                out.append(x)
        return out
    if dt.kind == "b":
        return [int(x) for x in a.ravel()]
    if dt.itemsize == 8:
        return [str(int(x)) for x in a.ravel()]
    return [int(x) for x in a.ravel()]


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)

    valid = {}

    def add(name, a, version=None):
        save(name, a, version)
        b = np.load(os.path.join(OUT, name), allow_pickle=False)
        valid[name] = {
            "dtype": b.dtype.name,
            "shape": list(b.shape),
            "values": flat_values(b),
        }

    f32 = rng.standard_normal((3, 4)).astype(np.float32)
    f32[0, 0] = -0.0
    add("float32_2d.npy", f32)

    f64 = rng.standard_normal((2, 5))
    f64[0, 1] = np.nan
    f64[0, 2] = np.inf
    f64[0, 3] = -np.inf
    f64[1, 0] = 1e-310  # subnormal
    add("float64_2d.npy", f64)

    i32 = rng.integers(-1000, 1000, size=7, dtype=np.int32)
    i32[0] = np.iinfo(np.int32).min
    i32[1] = np.iinfo(np.int32).max
    add("int32_1d.npy", i32)

    i64 = rng.integers(-(2**62), 2**62, size=(2, 3), dtype=np.int64)
    i64[0, 0] = np.iinfo(np.int64).min
    i64[0, 1] = np.iinfo(np.int64).max
    i64[0, 2] = 2**53 + 1  # not representable as a double
    add("int64_2d.npy", i64)

    u64 = np.array([0, 1, 2**53 + 1, 2**64 - 1], dtype=np.uint64)
    add("uint64_1d.npy", u64)

    add("uint8_2d.npy", rng.integers(0, 256, size=(3, 5), dtype=np.uint8))
    add("int8_1d.npy", np.array([-128, -1, 0, 1, 127], dtype=np.int8))
    add("int16_1d.npy", np.array([-32768, -2, 0, 3, 32767], dtype=np.int16))
    add("uint16_1d.npy", np.array([0, 1, 40000, 65535], dtype=np.uint16))
    add("uint32_1d.npy", np.array([0, 1, 3_000_000_000, 2**32 - 1], dtype=np.uint32))

    f16 = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 6e-8, np.inf, -np.inf, np.nan], dtype=np.float16)
    add("float16_1d.npy", f16)

    add("bool_2d.npy", rng.random((2, 3)) > 0.5)
    add("scalar_0d.npy", np.array(3.5, dtype=np.float64))
    add("empty_0x3.npy", np.zeros((0, 3), dtype=np.float32))
    add("v2_float32.npy", rng.standard_normal((2, 3)).astype(np.float32), version=(2, 0))
    add("v3_int32.npy", np.arange(6, dtype=np.int32).reshape(3, 2), version=(3, 0))

    # Unreadable fixtures, each with a fragment the error message must contain.
    errors = {}
    save("fortran_order.npy", np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)))
    errors["fortran_order.npy"] = "np.ascontiguousarray"
    save("big_endian.npy", np.arange(4, dtype=">f4").reshape(2, 2))
    errors["big_endian.npy"] = "big-endian dtype '>f4'"
    save("complex64.npy", np.array([1 + 2j, 3 - 4j], dtype=np.complex64))
    errors["complex64.npy"] = "unsupported dtype '<c8'"
    save("unicode.npy", np.array(["ab", "cde"]))
    errors["unicode.npy"] = "unsupported dtype '<U3'"
    save("structured.npy", np.zeros(2, dtype=[("a", "<i4"), ("b", "<f4")]))
    errors["structured.npy"] = "structured"

    # Truncated: a 4x4 float32 file with 24 bytes cut off the end (40 of 64 data bytes remain).
    full = save("truncated_source.npy", rng.standard_normal((4, 4)).astype(np.float32))
    with open(full, "rb") as f:
        blob = f.read()
    os.remove(full)
    with open(os.path.join(OUT, "truncated.npy"), "wb") as f:
        f.write(blob[:-24])
    errors["truncated.npy"] = (
        "truncated .npy: header says 4x4 float32 (64 bytes of data) but only 40 bytes follow the header"
    )

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"numpy": np.__version__, "valid": valid, "errors": errors}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
