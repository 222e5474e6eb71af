#!/usr/bin/env python3
"""Writes the linear-assignment test fixtures in test/fixtures/lap/ with scipy as the oracle.

Re-runnable: `python3 scripts/make-lap-fixtures.py` (needs numpy and scipy; never a runtime
dependency of sae-match). Fixed seeds, so the output is the same on every run with the same
numpy/scipy versions.

Each case is a cost matrix saved with np.save (float64 for n <= 128, float32 for n = 512 to keep
the folder small) and an entry in manifest.json:

  file, family, shape [nRows, nCols], dtype, maximize,
  total      scipy.optimize.linear_sum_assignment's optimal total, computed in float64 (math.fsum)
             from the matrix exactly as stored (after any float32 rounding),
  rowToCol   (n <= 128) scipy's row -> column assignment, -1 for unassigned rows of tall matrices,
  unique     (n <= 128) whether that optimum is unique: every other assignment is worse by more
             than 1e-9 * (1 + |total|). Established by forbidding each optimal pair in turn and
             re-solving (any other assignment lacks at least one optimal pair).
  secondBestGap  (n <= 128) the margin behind that verdict (null when no other assignment exists),
  infeasible true for the one case that has no finite assignment (scipy raises ValueError).

Families (square n in 16, 128, 512):
  uniform      U[0, 1)
  int          integers in [0, n] (many ties)
  geometric    squared Euclidean distances between two sets of n points uniform in the unit square
  sae          unit vectors in d = 64 with per-row lognormal scales exp(0.5 N(0,1)); 80% of the rows
               (a random subset) have a noisy partner in a shuffled second set that keeps the row's
               scale up to exp(0.1 N(0,1)); the other rows of the second set are unrelated;
               cost = squared Euclidean distances
  machol-wien  c_ij = (i + 1) * (j + 1)
plus rectangular, maximize, forbidden-pair (+inf / -inf when maximising) and one infeasible case.
The whole folder is about 6.4 MB, almost all of it the five 512 x 512 float32 matrices.
"""

import json
import math
import os
import shutil

import numpy as np
from scipy.optimize import linear_sum_assignment

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "lap")
SIZES = (16, 128, 512)
SMALL = 128  # assignments and uniqueness are recorded up to this size


def uniform(rng, n, m=None):
    return rng.random((n, n if m is None else m))


def integers(rng, n):
    return rng.integers(0, n, size=(n, n), endpoint=True).astype(np.float64)


def sqdist(a, b):
    d = a[:, None, :] - b[None, :, :]
    return np.einsum("ijk,ijk->ij", d, d)


def geometric(rng, n):
    return sqdist(rng.random((n, 2)), rng.random((n, 2)))


def sae(rng, n, d=64):
    def unit(x):
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    dirs = unit(rng.standard_normal((n, d)))
    scales = np.exp(0.5 * rng.standard_normal(n))
    a = dirs * scales[:, None]
    b = unit(rng.standard_normal((n, d))) * np.exp(0.5 * rng.standard_normal(n))[:, None]
    partnered = rng.permutation(n)[: int(round(0.8 * n))]
    noisy = unit(dirs[partnered] + 0.3 * rng.standard_normal((len(partnered), d)) / math.sqrt(d))
    b[partnered] = noisy * (scales[partnered] * np.exp(0.1 * rng.standard_normal(len(partnered))))[:, None]
    b = b[rng.permutation(n)]
    return sqdist(a, b)


def machol_wien(rng, n):
    k = np.arange(1, n + 1, dtype=np.float64)
    return np.outer(k, k)


def forbid_random(rng, c, p, maximize=False):
    """Forbids a fraction p of the pairs, keeping a random permutation allowed so it stays feasible."""
    c = c.copy()
    mask = rng.random(c.shape) < p
    keep = rng.permutation(max(c.shape))
    n = min(c.shape)
    if c.shape[0] <= c.shape[1]:
        mask[np.arange(n), keep[:n]] = False
    else:
        mask[keep[:n], np.arange(n)] = False
    c[mask] = -np.inf if maximize else np.inf
    return c


def banded(rng, n, width):
    """Only |i - j| <= width allowed: feasible, and it forces long augmenting paths."""
    c = rng.random((n, n))
    i, j = np.indices((n, n))
    c[np.abs(i - j) > width] = np.inf
    return c


def total_of(c, rows, cols):
    return math.fsum(float(x) for x in c[rows, cols].astype(np.float64))


def solve(c, maximize):
    rows, cols = linear_sum_assignment(c, maximize=maximize)
    return rows, cols, total_of(c, rows, cols)


def second_best(c, rows, cols, maximize):
    """Best total over assignments that differ from (rows, cols); None when there is none."""
    bad = -np.inf if maximize else np.inf
    best = None
    for i, j in zip(rows, cols):
        c2 = c.copy()
        c2[i, j] = bad
        try:
            _, _, t = solve(c2, maximize)
        except ValueError:  # infeasible without this pair
            continue
        if best is None or (t > best if maximize else t < best):
            best = t
    return best


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    cases = []

    def add(name, family, c, dtype, maximize=False, infeasible=False):
        c = np.ascontiguousarray(c, dtype=dtype)
        file = name + ".npy"
        np.save(os.path.join(OUT, file), c, allow_pickle=False)
        entry = {
            "name": name,
            "file": file,
            "family": family,
            "shape": list(c.shape),
            "dtype": str(c.dtype),
            "maximize": maximize,
        }
        if infeasible:
            try:
                linear_sum_assignment(c, maximize=maximize)
            except ValueError:
                pass
            else:
                raise AssertionError(f"{name}: expected scipy to find it infeasible")
            entry["infeasible"] = True
            cases.append(entry)
            return
        c64 = c.astype(np.float64)
        rows, cols, total = solve(c64, maximize)
        entry["total"] = total
        if max(c.shape) <= SMALL:
            row_to_col = [-1] * c.shape[0]
            for i, j in zip(rows, cols):
                row_to_col[int(i)] = int(j)
            entry["rowToCol"] = row_to_col
            sb = second_best(c64, rows, cols, maximize)
            gap = None if sb is None else abs(sb - total)
            entry["secondBestGap"] = gap
            entry["unique"] = gap is None or gap > 1e-9 * (1 + abs(total))
        cases.append(entry)

    makers = {
        "uniform": uniform,
        "int": integers,
        "geometric": geometric,
        "sae": sae,
        "machol-wien": machol_wien,
    }
    for fi, (family, make) in enumerate(makers.items()):
        for n in SIZES:
            rng = np.random.default_rng(1000 * fi + n)
            dtype = np.float64 if n <= SMALL else np.float32
            add(f"{family}-{n}", family, make(rng, n), dtype)

    rng = np.random.default_rng(7)
    add("uniform-40x64", "uniform", uniform(rng, 40, 64), np.float64)
    add("uniform-64x40", "uniform", uniform(rng, 64, 40), np.float64)
    add("sae-48x96", "sae", sae(rng, 96)[rng.permutation(96)[:48]], np.float64)

    rng = np.random.default_rng(8)
    add("max-uniform-64", "uniform", uniform(rng, 64), np.float64, maximize=True)
    add("max-uniform-30x50", "uniform", uniform(rng, 30, 50), np.float64, maximize=True)
    add("max-uniform-50x30", "uniform", uniform(rng, 50, 30), np.float64, maximize=True)

    rng = np.random.default_rng(9)
    add("forbidden-uniform-64", "forbidden", forbid_random(rng, uniform(rng, 64), 0.5), np.float64)
    add("forbidden-dense-64", "forbidden", forbid_random(rng, uniform(rng, 64), 0.95), np.float64)
    add("forbidden-uniform-30x50", "forbidden", forbid_random(rng, uniform(rng, 30, 50), 0.6), np.float64)
    add("forbidden-uniform-50x30", "forbidden", forbid_random(rng, uniform(rng, 50, 30), 0.6), np.float64)
    add("forbidden-banded-128", "forbidden", banded(rng, 128, 2), np.float64)
    add("forbidden-max-64", "forbidden", forbid_random(rng, uniform(rng, 64), 0.5, maximize=True),
        np.float64, maximize=True)
    add("forbidden-uniform-128-f32", "forbidden", forbid_random(rng, uniform(rng, 128), 0.9), np.float32)

    # Infeasible: rows 0..4 may only use columns 0..3 (Hall's condition fails).
    c = uniform(rng, 64)
    c[:5, 4:] = np.inf
    add("infeasible-64", "infeasible", c, np.float64, infeasible=True)

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({
            "generator": "scripts/make-lap-fixtures.py",
            "numpy": np.__version__,
            "scipy": __import__("scipy").__version__,
            "cases": cases,
        }, f, indent=1)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(OUT, x)) for x in os.listdir(OUT))
    print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)} ({size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
