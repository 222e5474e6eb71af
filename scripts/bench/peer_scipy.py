#!/usr/bin/env python3
"""Peers for `sae-match bench`, run in the same session as our solver.

  peer_scipy.py lsa COST.npy [--maximize]    time scipy.optimize.linear_sum_assignment on the file
  peer_scipy.py matmul NA NB K [--repeat R]  time numpy's float32 A @ B.T on random data of that shape

Prints one JSON object on stdout. Not a runtime dependency of sae-match: the benchmark skips the peer
(with a note) when python3, numpy or scipy is missing.
"""
import json
import sys
import time

import numpy as np


def lsa(path, maximize):
    from scipy.optimize import linear_sum_assignment

    c = np.load(path, mmap_mode=None)
    t0 = time.perf_counter()
    rows, cols = linear_sum_assignment(c, maximize=maximize)
    seconds = time.perf_counter() - t0
    total = float(c[rows, cols].astype(np.float64).sum())
    print(json.dumps({"peer": "scipy", "version": __import__("scipy").__version__, "seconds": seconds,
                      "total": total}))


def matmul(na, nb, k, repeat):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((na, k), dtype=np.float32)
    b = rng.standard_normal((nb, k), dtype=np.float32)
    a @ b[:64].T  # warm up the BLAS threads
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        a @ b.T
        times.append(time.perf_counter() - t0)
    print(json.dumps({"peer": "numpy", "version": np.__version__, "seconds": float(np.median(times)),
                      "times": times}))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "lsa":
        lsa(sys.argv[2], "--maximize" in sys.argv)
    elif cmd == "matmul":
        rep = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
        matmul(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), rep)
    else:
        sys.exit(f"unknown command {cmd}")
