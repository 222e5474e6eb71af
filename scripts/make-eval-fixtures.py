#!/usr/bin/env python3
"""Writes the reconstruction-evaluation fixtures in test/fixtures/eval/ and test/fixtures/eval-wide/
(numpy only; deterministic).

Two tiny JumpReLU SAEs (d_model 8, d_sae 12; eval-wide: d_model 136, d_sae 40, so the addon's
64-column decode chunks run full and with a tail) as npy folders layer_0/, layer_1/, activations
acts/layer_{0,1}.npy [20, 8] float32 ([48, 136] wide), a matching perm_0_1.npy (one feature unassigned, -1) with
costs cost_0_1.npy (+inf for the unassigned one), and expected.json: every method of src/eval.ts
computed here in float64, both folded (codes / theta_t times theta_{t+1}-scaled decoder rows, as the
matching compares folded SAEs) and raw. Inputs are redrawn until no pre-activation is within 1e-3 of
its threshold, so float32 encoding in the addon cannot flip a code.
"""
import json
import os

import numpy as np

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures')
# (folder, d_model, d_sae, rows, seed); set per fixture by main()
SETS = [('eval', 8, 12, 20, 20250101), ('eval-wide', 136, 40, 48, 20251124)]
HERE, D, S, N = '', 0, 0, 0
QS = [0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0]


def draw(rng):
    sae = {
        'W_enc': (rng.standard_normal((D, S)) * 0.5 * np.sqrt(8 / D)).astype(np.float32),
        'W_dec': (rng.standard_normal((S, D)) * 0.5).astype(np.float32),
        'b_enc': (rng.standard_normal(S) * 0.1).astype(np.float32),
        'b_dec': (rng.standard_normal(D) * 0.1).astype(np.float32),
        'threshold': rng.uniform(0.1, 0.5, S).astype(np.float32),
    }
    return sae


def to_bf16(x):
    u = x.astype(np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def from_bf16(h):
    return (h.astype(np.uint32) << 16).view(np.float32)


def encode(sae, X):
    z = X.astype(np.float64) @ sae['W_enc'].astype(np.float64) + sae['b_enc']
    return z, np.where(z > sae['threshold'], z, 0.0)


def ev(xh, x):
    # EV = 1 - sum ||x_hat - x||^2 / sum ||x - mean(x)||^2, mean per coordinate over the rows.
    x = x.astype(np.float64)
    return float(1 - ((xh - x) ** 2).sum() / ((x - x.mean(0)) ** 2).sum())


def methods(s0, s1, X1, F0, F1, perm, costs, folded):
    t0, t1 = s0['threshold'].astype(np.float64), s1['threshold'].astype(np.float64)
    W0, W1 = s0['W_dec'].astype(np.float64), s1['W_dec'].astype(np.float64)
    b0, b1 = s0['b_dec'].astype(np.float64), s1['b_dec'].astype(np.float64)
    ok = perm >= 0

    def cross(i, j):  # code scale for feature i of layer 0 decoded with row j of layer 1
        return t1[j] / t0[i] if folded else 1.0

    def match(above):
        xh = np.tile(b1, (N, 1))
        for i in range(S):
            if above[i]:
                xh += np.outer(F0[:, i], W0[i])
            elif ok[i]:
                xh += np.outer(F0[:, i] * cross(i, perm[i]), W1[perm[i]])
        return xh

    out = {
        'sae_match': ev(match(np.zeros(S, bool)), X1),
        'own': ev(F1 @ W1 + b1, X1),
        'no_permutation': ev((F0 * np.array([cross(i, i) for i in range(S)])) @ W1 + b1, X1),
        'reuse_previous': ev(F0 @ W0 + b0, X1),
    }
    fin = costs[np.isfinite(costs)].astype(np.float64)
    hyb = []
    for q in QS:
        if q >= 1:
            hyb.append({'q': q, 'ev': out['sae_match']})
            continue
        tau = np.quantile(fin, q)  # numpy's default: linear interpolation
        hyb.append({'q': q, 'ev': ev(match(~ok | (costs > tau)), X1)})
    act = (F0 > 0) & ok[None, :]
    hits = np.zeros_like(act)
    hits[:, ok] = F1[:, perm[ok]] > 0
    return {'ev': out, 'hybrid': hyb, 'matching_score': float((act & hits).sum() / act.sum())}


def main():
    global HERE, D, S, N
    for name, D, S, N, seed in SETS:
        HERE = os.path.join(FIXTURES, name)
        write_set(np.random.default_rng(seed))


def write_set(rng):
    while True:
        s0, s1 = draw(rng), draw(rng)
        X0 = rng.standard_normal((N, D)).astype(np.float32)
        X1 = rng.standard_normal((N, D)).astype(np.float32)
        z0, F0 = encode(s0, X0)
        z1, F1 = encode(s1, X1)
        if min(np.abs(z0 - s0['threshold']).min(), np.abs(z1 - s1['threshold']).min()) > 1e-3:
            break
    perm = rng.permutation(S).astype(np.int32)
    perm[3] = -1
    costs = rng.uniform(0, 2, S).astype(np.float32)
    costs[3] = np.inf
    for l, s in enumerate([s0, s1]):
        d = os.path.join(HERE, f'layer_{l}')
        os.makedirs(d, exist_ok=True)
        for k, v in s.items():
            np.save(os.path.join(d, f'{k}.npy'), v)
    os.makedirs(os.path.join(HERE, 'acts'), exist_ok=True)
    np.save(os.path.join(HERE, 'acts', 'layer_0.npy'), X0)
    np.save(os.path.join(HERE, 'acts', 'layer_1.npy'), X1)
    # The same activations in half precision, and (as float32) exactly the values they decode to:
    # acts-f16 (numpy float16), acts-bf16 (bfloat16 bits in uint16, rounded to nearest even, as a
    # bf16 model's dump arrives), acts-f16-f32 / acts-bf16-f32 their float32 decodings.
    for name, enc, dec in (('f16', lambda x: x.astype(np.float16), lambda h: h.astype(np.float32)),
                           ('bf16', to_bf16, from_bf16)):
        for sub, fn in ((f'acts-{name}', enc), (f'acts-{name}-f32', lambda x, enc=enc, dec=dec: dec(enc(x)))):
            os.makedirs(os.path.join(HERE, sub), exist_ok=True)
            np.save(os.path.join(HERE, sub, 'layer_0.npy'), fn(X0))
            np.save(os.path.join(HERE, sub, 'layer_1.npy'), fn(X1))
    np.save(os.path.join(HERE, 'perm_0_1.npy'), perm)
    np.save(os.path.join(HERE, 'cost_0_1.npy'), costs)
    expected = {
        'rows': N,
        'folded': methods(s0, s1, X1, F0, F1, perm, costs, True),
        'raw': methods(s0, s1, X1, F0, F1, perm, costs, False),
    }
    with open(os.path.join(HERE, 'expected.json'), 'w') as f:
        json.dump(expected, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
