#!/usr/bin/env python3
"""The numpy + scipy peer of `sae-match` for benchmarks: match two SAEs the way a numpy user would.

  python3 scripts/bench/peer_pipeline.py --a PATH_A --b PATH_B [--metric enc-dec] [--bias-weight W]
                                   [--no-fold] [--skip-solve] [--save-perm PERM.npy] [--json]

PATH_A / PATH_B: a Gemma Scope `params.npz`, or a folder holding W_enc.npy, W_dec.npy, b_enc.npy,
b_dec.npy and threshold.npy. Metrics (same contract as sae-match): enc-dec (default), dec, enc, each
with an optional extra coordinate W * b_enc' (--bias-weight W > 0), and cosine-dec (1 - cosine of the
unfolded decoder rows). Not a runtime dependency of sae-match: `sae-match bench` runs it when python3,
numpy and scipy are there.

Steps, each timed with time.perf_counter():
  load      np.load and materialise all five arrays of both SAEs (the whole files are read)
  fold      W_enc / theta, b_enc / theta, W_dec * theta[:, None] in float32 (skipped with --no-fold)
  features  the float32 feature matrices A [n_from, k] and B [n_to, k]
  cost      float32 C = na[:, None] + nb[None, :] - 2 * A @ B.T clamped at 0 (cosine-dec: 1 - An @ Bn.T).
            Written with one temporary so that the peak is two n_from x n_to float32 matrices, the same
            as numpy's own evaluation of that one-line expression (and bitwise the same result: 2 * G is
            exact, and the additions happen in the same order).
  solve     scipy.optimize.linear_sum_assignment(C). NOTE: scipy converts its input to a float64 copy
            (8 * n_from * n_to bytes on top of C: 2 GiB for a 16k pair), so its peak memory is three
            times the float32 matrix. That is the peer's real behaviour and is left in on purpose.
Output (--json: one JSON object on stdout; otherwise a readable summary):
  load_s, fold_s, features_s, cost_s, solve_s, total_s (wall time over all steps), total_cost (float64
  sum of C[i, perm[i]] over the assigned rows), n_from, n_to, perm_sha256 (sha256 of perm as
  little-endian int32, -1 for rows left unassigned when n_from > n_to), peak_rss_bytes (VmHWM from
  /proc/self/status), plus metric, bias_weight, fold and the numpy/scipy versions. With --skip-solve
  the solve-dependent fields (solve_s, total_cost, perm_sha256) are null.
perm[i] = j means feature i of A <-> feature j of B; --save-perm writes it with np.save (int32 [n_from]).
"""

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

KEYS = ('W_enc', 'W_dec', 'b_enc', 'b_dec', 'threshold')
METRICS = ('enc-dec', 'dec', 'enc', 'cosine-dec')


def load_sae(path):
    """The five float32 arrays, fully read into memory."""
    if os.path.isdir(path):
        missing = [k for k in KEYS if not os.path.isfile(os.path.join(path, k + '.npy'))]
        if missing:
            raise SystemExit(f'{path}: no {", ".join(k + ".npy" for k in missing)}')
        return {k: np.load(os.path.join(path, k + '.npy'), allow_pickle=False) for k in KEYS}
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in KEYS if k not in f.files]
        if missing:
            raise SystemExit(f'{path}: no {", ".join(missing)} in the archive (has {", ".join(f.files)})')
        return {k: np.asarray(f[k]) for k in KEYS}


def check_shapes(name, s):
    d_model, d_sae = s['W_enc'].shape
    want = {'W_dec': (d_sae, d_model), 'b_enc': (d_sae,), 'b_dec': (d_model,), 'threshold': (d_sae,)}
    for k, shape in want.items():
        if s[k].shape != shape:
            raise SystemExit(f'{name}: {k} has shape {s[k].shape}, expected {shape} (W_enc is {s["W_enc"].shape})')


def fold(s):
    theta = s['threshold'].astype(np.float32, copy=False)
    if not np.all(theta > 0):
        raise SystemExit('folding needs threshold > 0 everywhere')
    return {
        'W_enc': s['W_enc'] / theta[None, :],
        'b_enc': s['b_enc'] / theta,
        'W_dec': s['W_dec'] * theta[:, None],
    }


def features(s, metric, bias_weight):
    parts = []
    if metric in ('enc-dec', 'dec'):
        parts.append(s['W_dec'])
    if metric in ('enc-dec', 'enc'):
        parts.append(s['W_enc'].T)
    if bias_weight > 0:
        parts.append((np.float32(bias_weight) * s['b_enc'])[:, None])
    return np.ascontiguousarray(np.concatenate(parts, axis=1), dtype=np.float32)


def unit_rows(m):
    m = m.astype(np.float32, copy=False)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def cost_matrix(A, B, metric):
    if metric == 'cosine-dec':
        C = A @ B.T
        np.subtract(np.float32(1), C, out=C)
        return C
    na = np.einsum('ij,ij->i', A, A)
    nb = np.einsum('ij,ij->i', B, B)
    C = na[:, None] + nb[None, :]
    G = A @ B.T
    G *= np.float32(2)
    C -= G
    del G
    np.maximum(C, np.float32(0), out=C)
    return C


def peak_rss_bytes():
    try:
        with open('/proc/self/status') as fh:
            for line in fh:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--a', required=True, help='params.npz or folder of .npy files (layer l)')
    ap.add_argument('--b', required=True, help='params.npz or folder of .npy files (layer l+1)')
    ap.add_argument('--metric', default='enc-dec', choices=METRICS)
    ap.add_argument('--bias-weight', type=float, default=0.0)
    ap.add_argument('--no-fold', action='store_true', help='match the parameters as stored')
    ap.add_argument('--skip-solve', action='store_true', help='stop after the cost matrix')
    ap.add_argument('--save-perm', metavar='PATH.npy')
    ap.add_argument('--json', action='store_true', help='print one JSON object')
    o = ap.parse_args(argv)
    if o.bias_weight < 0 or (o.bias_weight > 0 and o.metric == 'cosine-dec'):
        raise SystemExit('--bias-weight must be >= 0 and applies to enc-dec, dec and enc only')

    import scipy  # imported before the clock starts: import time is not the peer's work
    from scipy.optimize import linear_sum_assignment

    t_start = time.perf_counter()
    sa, sb = load_sae(o.a), load_sae(o.b)
    t_load = time.perf_counter()
    check_shapes(o.a, sa)
    check_shapes(o.b, sb)
    if sa['W_enc'].shape[0] != sb['W_enc'].shape[0]:
        raise SystemExit(f'd_model differs: {sa["W_enc"].shape[0]} vs {sb["W_enc"].shape[0]}')

    fold_on = not o.no_fold and o.metric != 'cosine-dec'  # cosine-dec uses the unfolded decoder rows
    if fold_on:
        fa, fb = fold(sa), fold(sb)
    else:
        fa, fb = sa, sb
    t_fold = time.perf_counter()

    if o.metric == 'cosine-dec':
        A, B = unit_rows(sa['W_dec']), unit_rows(sb['W_dec'])
    else:
        A, B = features(fa, o.metric, o.bias_weight), features(fb, o.metric, o.bias_weight)
    del fa, fb, sa, sb
    t_feat = time.perf_counter()

    C = cost_matrix(A, B, o.metric)
    del A, B
    t_cost = time.perf_counter()
    n_from, n_to = C.shape

    solve_s = total_cost = sha = None
    t_end = t_cost
    if not o.skip_solve:
        rows, cols = linear_sum_assignment(C)  # makes its own float64 copy of C
        t_end = time.perf_counter()
        solve_s = t_end - t_cost
        perm = np.full(n_from, -1, dtype='<i4')
        perm[rows] = cols
        total_cost = float(C[rows, cols].astype(np.float64).sum())
        sha = hashlib.sha256(perm.tobytes()).hexdigest()
        if o.save_perm:
            np.save(o.save_perm, perm)

    report = {
        'peer': 'numpy+scipy', 'metric': o.metric, 'bias_weight': o.bias_weight, 'fold': fold_on,
        'load_s': t_load - t_start, 'fold_s': t_fold - t_load, 'features_s': t_feat - t_fold,
        'cost_s': t_cost - t_feat, 'solve_s': solve_s, 'total_s': t_end - t_start,
        'total_cost': total_cost, 'n_from': int(n_from), 'n_to': int(n_to), 'perm_sha256': sha,
        'peak_rss_bytes': peak_rss_bytes(), 'numpy': np.__version__, 'scipy': scipy.__version__,
    }
    if o.json:
        print(json.dumps(report))
    else:
        def s(v):
            return 'skipped' if v is None else f'{v:.3f} s'
        print(f'{n_from} x {n_to}  metric {o.metric}{" +bias " + str(o.bias_weight) if o.bias_weight else ""}'
              f'  fold {"on" if fold_on else "off"}')
        for k in ('load_s', 'fold_s', 'features_s', 'cost_s', 'solve_s', 'total_s'):
            print(f'  {k[:-2]:9s} {s(report[k])}')
        if total_cost is not None:
            print(f'  total cost {total_cost:.6f}  perm sha256 {sha}')
        if report['peak_rss_bytes']:
            print(f'  peak RSS {report["peak_rss_bytes"] / 2**20:.0f} MiB')
    return 0


if __name__ == '__main__':
    sys.exit(main())
