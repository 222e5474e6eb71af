#!/usr/bin/env python3
"""Writes the small SAE-suite test fixtures in test/fixtures/suite-small/ with scipy as the oracle.

Run from the repository root: `python3 scripts/make-suite-fixtures.py` (numpy + scipy only; never a
runtime dependency of sae-match). Fixed seed (and np.savez stamps every zip entry 1980-01-01), so a
rerun with the same numpy/scipy versions rewrites byte-identical files. Takes well under a second; the folder
is about 0.16 MB.

What it writes (d_model = 16; all SAE tensors float32, Gemma Scope names, shapes and `np.savez` layout):

  gemmascope/layer_{L}/width_64/average_l0_{K}/params.npz   L = 0..3, d_sae = 64, two L0 variants each:
      layer 0: {35, 96} -> 96     layer 1: {88, 120} -> 88
      layer 2: {90, 110} -> 90 (a tie: the lower L0 wins)     layer 3: {60, 130} -> 130
    ("canonical" = average L0 closest to 100, ties to the lower). The non-canonical variant of a layer
    is the canonical one shuffled, noisier and with other thresholds, so choosing it changes every
    answer.
  rect/a/params.npz (d_sae 48) and rect/b/params.npz (d_sae 64): a rectangular pair.
  recon.npz   x [32, 16] float32 inputs; xhat and xhat_folded [32, 16] float64: layer 0's canonical SAE
              applied to x, JumpReLU(z) = z * (z > theta), once as stored and once folded (theta' = 1),
              both computed in float64 from the float32 parameters. They agree to ~1e-15.
  expected.json  the answers (see below).

How the suite is built. Each layer is generated in FOLDED coordinates (the scale on which matching is
meaningful): decoder rows are random directions with lognormal norms, encoder columns are the decoder
direction plus noise with their own lognormal norms, folded encoder biases ~ N(-0.3, 0.3). Layer L+1's
folded latents are a random permutation of layer L's plus Gaussian noise (sd 0.12 per coordinate) with
6 latents replaced by fresh random ones. Every layer then gets its own per-latent thresholds
theta = exp(N(log 0.5, 0.8)) and is un-folded (W_enc *= theta, b_enc *= theta, W_dec /= theta) before it is
written, so the stored parameters only line up after folding.

Folding: W_enc'[:, i] = W_enc[:, i] / theta_i, b_enc'[i] = b_enc[i] / theta_i, W_dec'[i, :] = W_dec[i, :] * theta_i.
Metrics (row i = latent i of layer l, a; column j = latent j of layer l+1, b):
  enc-dec  a_i = [W_dec'[i, :], W_enc'[:, i]]      dec  a_i = W_dec'[i, :]      enc  a_i = W_enc'[:, i]
  enc-dec+bias1  enc-dec with one more coordinate 1.0 * b_enc'[i]
  C[i, j] = ||a_i - b_j||^2 for those;  cosine-dec  C[i, j] = 1 - cos(W_dec[i, :], W_dec_next[j, :]) (unfolded rows)
  unfolded_enc-dec  enc-dec with theta treated as 1 (no folding); at least one pair's perm differs from
                    the folded one (the script asserts it).
All costs are computed in float64 (difference form, not the norm expansion) from the float32 parameters.

expected.json:
  d_model, d_sae, layers, metrics,
  chosen      {"0": "layer_0/width_64/average_l0_96/params.npz", ...}  relative to gemmascope/
  pairs       {metric: [{from, to, n_from, n_to, total_cost, perm, costs, second_best_gap}, ...]}
  rect        {"enc-dec": {n_from: 48, n_to: 64, total_cost, perm (length 48), costs, second_best_gap}}
  unfolded_enc-dec  [{from, to, total_cost, perm, costs, second_best_gap, differs_from_folded}, ...]
  planted     {"0_1": [...], ...}  the generator's true correspondence of the canonical SAEs (-1 where
              latent i of layer l has no partner in layer l+1); informative only
  recon       {sae, n, max_abs_diff}
Where: perm[i] = j is scipy.optimize.linear_sum_assignment's row -> column answer, costs[i] = C[i, perm[i]],
total_cost = math.fsum(costs), and second_best_gap = (best total with one optimal edge forbidden (+inf),
minimised over the optimal edges) - total_cost, i.e. how far the second-best assignment is behind:
a gap well above float32 noise (~1e-5 here) means the optimum is unique for a float32 solver too.
"""

import json
import math
import os
import shutil
import time

import numpy as np
from scipy.optimize import linear_sum_assignment

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'suite-small')
SEED = 20250414
D_MODEL = 16
D_SAE = 64
N_LAYERS = 4
NOISE = 0.12          # per-coordinate drift between adjacent layers (folded coordinates)
N_FRESH = 6           # latents of layer L+1 with no partner in layer L
L0_VARIANTS = {0: (35, 96), 1: (88, 120), 2: (90, 110), 3: (60, 130)}
METRICS = ['enc-dec', 'dec', 'enc', 'cosine-dec', 'enc-dec+bias1']
KEYS = ('W_dec', 'W_enc', 'b_dec', 'b_enc', 'threshold')  # Gemma Scope's order inside params.npz


def canonical_l0(ks):
    return min(ks, key=lambda k: (abs(k - 100), k))


# ----- generator (folded coordinates) -----

def unit_rows(rng, n, d):
    v = rng.standard_normal((n, d))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def fresh_latents(rng, n):
    """n random folded latents: dec [n, d], enc [n, d] (encoder columns as rows), bias [n]."""
    direction = unit_rows(rng, n, D_MODEL)
    dec = direction * np.exp(0.3 * rng.standard_normal(n))[:, None]
    enc = direction + 0.5 * unit_rows(rng, n, D_MODEL)
    enc = enc / np.linalg.norm(enc, axis=1, keepdims=True) * (1.5 * np.exp(0.3 * rng.standard_normal(n)))[:, None]
    bias = -0.3 + 0.3 * rng.standard_normal(n)
    return {'dec': dec, 'enc': enc, 'bias': bias}


def drift(rng, lat, n_out, n_fresh):
    """Next layer's folded latents: a permuted noisy copy of (some of) lat plus n_fresh new ones.

    Returns (latents, partner) with partner[i] = index in the new layer of old latent i, or -1."""
    n_in = lat['dec'].shape[0]
    n_kept = n_out - n_fresh
    kept = np.sort(rng.choice(n_in, size=n_kept, replace=False))
    fresh = fresh_latents(rng, n_fresh)
    new = {k: np.concatenate([lat[k][kept] + NOISE * rng.standard_normal(lat[k][kept].shape), fresh[k]])
           for k in ('dec', 'enc')}
    new['bias'] = np.concatenate([lat['bias'][kept] + NOISE * rng.standard_normal(n_kept), fresh['bias']])
    order = rng.permutation(n_out)  # new position of the stacked latents
    out = {k: np.empty_like(v) for k, v in new.items()}
    for k in out:
        out[k][order] = new[k]
    partner = np.full(n_in, -1, dtype=np.int64)
    partner[kept] = order[:n_kept]
    return out, partner


def unfold_to_sae(rng, lat):
    """float32 SAE tensors from folded latents, with fresh per-latent thresholds."""
    n = lat['dec'].shape[0]
    theta = np.exp(math.log(0.5) + 0.8 * rng.standard_normal(n))
    return {
        'W_dec': (lat['dec'] / theta[:, None]).astype(np.float32),
        'W_enc': (lat['enc'] * theta[:, None]).T.astype(np.float32).copy(),
        'b_dec': (0.1 * rng.standard_normal(D_MODEL)).astype(np.float32),
        'b_enc': (lat['bias'] * theta).astype(np.float32),
        'threshold': theta.astype(np.float32),
    }


def save_sae(path, sae):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, **{k: sae[k] for k in KEYS})


# ----- the oracle (float64 from the float32 parameters) -----

def features(sae, metric, fold=True):
    f = {k: sae[k].astype(np.float64) for k in KEYS}
    theta = f['threshold'] if fold else np.ones_like(f['threshold'])
    dec = f['W_dec'] * theta[:, None]
    enc = (f['W_enc'] / theta[None, :]).T
    bias = f['b_enc'] / theta
    if metric == 'enc-dec':
        return np.concatenate([dec, enc], axis=1)
    if metric == 'dec':
        return dec
    if metric == 'enc':
        return enc
    if metric == 'enc-dec+bias1':
        return np.concatenate([dec, enc, 1.0 * bias[:, None]], axis=1)
    raise ValueError(metric)


def cost_matrix(sa, sb, metric, fold=True):
    if metric == 'cosine-dec':
        a = sa['W_dec'].astype(np.float64)
        b = sb['W_dec'].astype(np.float64)
        a = a / np.linalg.norm(a, axis=1, keepdims=True)
        b = b / np.linalg.norm(b, axis=1, keepdims=True)
        return 1.0 - a @ b.T
    a = features(sa, metric, fold)
    b = features(sb, metric, fold)
    return ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)


def solve(C):
    rows, cols = linear_sum_assignment(C)
    perm = np.full(C.shape[0], -1, dtype=np.int64)
    perm[rows] = cols
    costs = C[rows, cols]
    total = math.fsum(costs.tolist())
    gap = math.inf
    for i, j in zip(rows, cols):
        D = C.copy()
        D[i, j] = np.inf
        try:
            r2, c2 = linear_sum_assignment(D)
        except ValueError:
            continue
        gap = min(gap, math.fsum(D[r2, c2].tolist()) - total)
    full_costs = [float(C[i, perm[i]]) if perm[i] >= 0 else None for i in range(C.shape[0])]
    return {
        'n_from': int(C.shape[0]), 'n_to': int(C.shape[1]), 'total_cost': total,
        'perm': [int(p) for p in perm], 'costs': full_costs,
        'second_best_gap': gap if math.isfinite(gap) else None,
    }


def jumprelu_recon(sae, x, fold):
    f = {k: sae[k].astype(np.float64) for k in KEYS}
    theta = f['threshold']
    W_enc, b_enc, W_dec = f['W_enc'], f['b_enc'], f['W_dec']
    if fold:
        W_enc = W_enc / theta[None, :]
        b_enc = b_enc / theta
        W_dec = W_dec * theta[:, None]
        theta = np.ones_like(theta)
    z = x.astype(np.float64) @ W_enc + b_enc
    return (z * (z > theta)) @ W_dec + f['b_dec'], z, theta


def main():
    t0 = time.perf_counter()
    rng = np.random.default_rng(SEED)
    root = os.path.normpath(ROOT)
    if os.path.isdir(root):
        shutil.rmtree(root)
    os.makedirs(root)

    # Canonical SAEs: a drifting chain in folded coordinates.
    lat = [fresh_latents(rng, D_SAE)]
    planted = {}
    for L in range(1, N_LAYERS):
        nxt, partner = drift(rng, lat[-1], D_SAE, N_FRESH)
        lat.append(nxt)
        planted[f'{L - 1}_{L}'] = [int(p) for p in partner]

    saes, chosen = {}, {}
    for L in range(N_LAYERS):
        k_can = canonical_l0(L0_VARIANTS[L])
        for k in L0_VARIANTS[L]:
            if k == k_can:
                sae = unfold_to_sae(rng, lat[L])
                saes[L] = sae
            else:
                decoy, _ = drift(rng, lat[L], D_SAE, N_FRESH)
                sae = unfold_to_sae(rng, decoy)
            rel = f'layer_{L}/width_{D_SAE}/average_l0_{k}/params.npz'
            save_sae(os.path.join(root, 'gemmascope', rel), sae)
            if k == k_can:
                chosen[str(L)] = rel

    # Rectangular pair: 48 latents vs 64 (40 shared, noisy, shuffled).
    rect_a_lat = fresh_latents(rng, 48)
    rect_b_lat, _ = drift(rng, rect_a_lat, 64, 24)
    rect_a = unfold_to_sae(rng, rect_a_lat)
    rect_b = unfold_to_sae(rng, rect_b_lat)
    save_sae(os.path.join(root, 'rect', 'a', 'params.npz'), rect_a)
    save_sae(os.path.join(root, 'rect', 'b', 'params.npz'), rect_b)

    pairs = {m: [] for m in METRICS}
    unfolded = []
    for L in range(N_LAYERS - 1):
        for m in METRICS:
            pairs[m].append({'from': L, 'to': L + 1, **solve(cost_matrix(saes[L], saes[L + 1], m))})
        u = {'from': L, 'to': L + 1, **solve(cost_matrix(saes[L], saes[L + 1], 'enc-dec', fold=False))}
        u['differs_from_folded'] = u['perm'] != pairs['enc-dec'][L]['perm']
        unfolded.append(u)
    assert any(u['differs_from_folded'] for u in unfolded), 'folding must change at least one answer'
    for m in METRICS:
        for p in pairs[m]:
            assert p['second_best_gap'] is not None and p['second_best_gap'] > 1e-3, (m, p['from'], p['second_best_gap'])
    rect = {'enc-dec': solve(cost_matrix(rect_a, rect_b, 'enc-dec'))}
    assert len(rect['enc-dec']['perm']) == 48 and min(rect['enc-dec']['perm']) >= 0

    # Folding leaves the SAE's output unchanged.
    x = (1.5 * rng.standard_normal((32, D_MODEL))).astype(np.float32)
    xhat, z, theta = jumprelu_recon(saes[0], x, fold=False)
    xhat_f, z_f, _ = jumprelu_recon(saes[0], x, fold=True)
    assert np.array_equal(z > theta, z_f > 1.0), 'a pre-activation sits on its threshold; change the seed'
    margin = float(np.min(np.abs(z - theta[None, :]) / theta[None, :]))
    assert margin > 1e-6, margin
    diff = float(np.max(np.abs(xhat - xhat_f)))
    assert diff < 1e-12, diff
    active = float((z > theta).sum(axis=1).mean())
    assert 3 <= active <= 40, active
    np.savez(os.path.join(root, 'recon.npz'), x=x, xhat=xhat, xhat_folded=xhat_f)

    expected = {
        'generator': 'scripts/make-suite-fixtures.py',
        'seed': SEED,
        'd_model': D_MODEL, 'd_sae': D_SAE, 'layers': list(range(N_LAYERS)),
        'metrics': METRICS,
        'l0_variants': {str(L): list(v) for L, v in L0_VARIANTS.items()},
        'chosen': chosen,
        'pairs': pairs,
        'rect': rect,
        'unfolded_enc-dec': unfolded,
        'planted': planted,
        'recon': {'sae': chosen['0'], 'n': int(x.shape[0]), 'max_abs_diff': diff,
                  'mean_active_latents': active},
    }
    with open(os.path.join(root, 'expected.json'), 'w') as fh:
        json.dump(expected, fh, indent=1)
        fh.write('\n')

    # Summary for whoever reruns this.
    size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
    print(f'wrote {root} ({size / 1e3:.1f} kB) in {time.perf_counter() - t0:.2f} s')
    for m in METRICS:
        for p in pairs[m]:
            truth = planted[f"{p['from']}_{p['to']}"]
            hit = sum(1 for i, j in enumerate(p['perm']) if truth[i] >= 0 and truth[i] == j)
            print(f"  {m:14s} {p['from']}->{p['to']}  total {p['total_cost']:.6f}  planted pairs recovered "
                  f"{hit}/{sum(t >= 0 for t in truth)}  second-best gap {p['second_best_gap']:.3g}")
    for u in unfolded:
        print(f"  unfolded enc-dec {u['from']}->{u['to']}  differs from folded: {u['differs_from_folded']}  "
              f"gap {u['second_best_gap']:.3g}")
    print(f"  rect enc-dec 48x64  total {rect['enc-dec']['total_cost']:.6f}  gap {rect['enc-dec']['second_best_gap']:.3g}")
    print(f'  recon: mean active latents {active:.1f}, max |xhat - xhat_folded| {diff:.2e}')


if __name__ == '__main__':
    main()
