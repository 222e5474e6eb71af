#!/usr/bin/env python3
"""Maintainer's tool: prove that numpy reads a sae-match output folder and that it is consistent.

  python3 scripts/check/check_outputs.py OUTDIR [--quiet]

OUTDIR is what `sae-match pair|suite --out OUTDIR` wrote: manifest.json with
`pairs: [{from, to, n_from, n_to, perm: "perm_0_1.npy", costs: "cost_0_1.npy", total_cost, ...}]` and, per
pair, perm_{l}_{m}.npy (int32 [n_from]; perm[i] = j, -1 = unassigned) and cost_{l}_{m}.npy
(float32 [n_from]; NaN where unassigned). Every file is read with plain np.load(allow_pickle=False).

Checks per pair: both files exist and load; dtypes are int32 / float32 (little-endian, like every
.npy sae-match writes) and shapes are (n_from,); perm entries are -1 or in [0, n_to) and the assigned
ones are distinct; exactly min(n_from, n_to) rows are assigned (a full assignment; the manifest's
`unassigned`, when present, agrees); the assigned rows' costs are finite and >= 0 (up to float32
rounding; cosine-dec costs lie in [0, 2]); sum(costs) over assigned rows equals total_cost (relative
1e-5, absolute 1e-6), and mean_cost / median_cost when the manifest gives them; the pair's record
pairs/{from}_{to}.json exists, names the manifest's source_root and holds the same entry. Prints one line per pair
(OK or what is wrong) and exits 1 if anything is wrong, 2 if the folder or manifest cannot be read.
Needs numpy only; never a runtime dependency of sae-match.
"""

import json
import math
import os
import sys

import numpy as np

REL, ABS = 1e-5, 1e-6


def close(x, y):
    return abs(x - y) <= REL * max(abs(x), abs(y)) + ABS


def check_pair(out, p, errors):
    """Appends problems to errors; returns a short summary of the pair."""
    for key in ('from', 'to', 'n_from', 'n_to', 'total_cost'):
        if key not in p:
            errors.append(f'manifest entry has no {key!r}')
    if errors:
        return ''
    l, m, n_from, n_to = p['from'], p['to'], int(p['n_from']), int(p['n_to'])
    perm_name = p.get('perm', f'perm_{l}_{m}.npy')
    cost_name = p.get('costs', f'cost_{l}_{m}.npy')
    arrays = {}
    for label, name, dtype in (('perm', perm_name, np.dtype('<i4')), ('costs', cost_name, np.dtype('<f4'))):
        path = os.path.join(out, name)
        try:
            a = np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001 - report whatever numpy says
            errors.append(f'{name}: np.load failed: {e}')
            continue
        if not isinstance(a, np.ndarray):
            errors.append(f'{name}: not a single .npy array')
            continue
        if a.dtype != dtype:
            errors.append(f'{name}: dtype {a.dtype.str}, expected {dtype.str}')
        if a.shape != (n_from,):
            errors.append(f'{name}: shape {a.shape}, expected ({n_from},)')
        arrays[label] = a
    if len(arrays) < 2 or errors:
        return ''

    perm = arrays['perm'].astype(np.int64)
    costs = arrays['costs'].astype(np.float64)
    bad = (perm < -1) | (perm >= n_to)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        errors.append(f'{perm_name}: {int(bad.sum())} entries outside [-1, {n_to}), first perm[{i}] = {perm[i]}')
        return ''
    assigned = perm >= 0
    cols = perm[assigned]
    if np.unique(cols).size != cols.size:
        vals, counts = np.unique(cols, return_counts=True)
        errors.append(f'{perm_name}: column {int(vals[counts > 1][0])} is used {int(counts.max())} times '
                      f'({int((counts > 1).sum())} repeated columns)')
    n_assigned = int(assigned.sum())
    if n_assigned != min(n_from, n_to):
        errors.append(f'{perm_name}: {n_assigned} rows assigned, a full assignment of {n_from}x{n_to} has '
                      f'{min(n_from, n_to)}')
    if 'unassigned' in p and int(p['unassigned']) != n_from - n_assigned:
        errors.append(f'manifest says unassigned = {p["unassigned"]}, {perm_name} has {n_from - n_assigned}')

    c = costs[assigned]
    if not np.all(np.isfinite(c)):
        i = int(np.flatnonzero(assigned)[np.flatnonzero(~np.isfinite(c))[0]])
        errors.append(f'{cost_name}: {int((~np.isfinite(c)).sum())} assigned rows have non-finite costs, '
                      f'first row {i} = {costs[i]}')
        return ''
    if c.size and c.min() < -1e-4 * max(1.0, float(np.abs(c).max())):
        errors.append(f'{cost_name}: negative cost {c.min():.6g}')
    unassigned_costs = costs[~assigned]
    if unassigned_costs.size and not np.all(np.isnan(unassigned_costs)):
        errors.append(f'{cost_name}: unassigned rows should hold NaN, found {unassigned_costs[~np.isnan(unassigned_costs)][0]}')

    total = math.fsum(c.tolist())
    if not close(total, float(p['total_cost'])):
        errors.append(f'sum({cost_name}) = {total!r} but manifest total_cost = {p["total_cost"]!r} '
                      f'(relative difference {abs(total - p["total_cost"]) / max(abs(total), 1e-300):.2e})')
    if c.size:
        if p.get('mean_cost') is not None and not close(total / c.size, float(p['mean_cost'])):
            errors.append(f'mean cost {total / c.size!r} but manifest mean_cost = {p["mean_cost"]!r}')
        if p.get('median_cost') is not None and not close(float(np.median(c)), float(p['median_cost'])):
            errors.append(f'median cost {float(np.median(c))!r} but manifest median_cost = {p["median_cost"]!r}')
    summary = f'{n_from}x{n_to}, {n_assigned} assigned, total_cost {total:.6g}'
    # With --duals: the certificate's u and v are float64 [n_from], [n_to], finite, and tight on the
    # assignment (u_i + v_perm[i] = cost_i: complementary slackness, up to the cost's float32 rounding).
    # Their feasibility over every pair needs the cost matrix, which this check does not rebuild.
    if 'duals' in p:
        duals = {}
        for side, n in (('u', n_from), ('v', n_to)):
            name = p['duals'].get(side, '')
            try:
                a = np.load(os.path.join(out, name), allow_pickle=False)
            except Exception as e:  # noqa: BLE001
                errors.append(f'{name}: np.load failed: {e}')
                return summary
            if a.dtype != np.dtype('<f8') or a.shape != (n,):
                errors.append(f'{name}: {a.dtype.str} {a.shape}, expected <f8 ({n},)')
                return summary
            if not np.all(np.isfinite(a)):
                errors.append(f'{name}: non-finite dual values')
            duals[side] = a
        rows = np.flatnonzero(assigned)
        gap = np.abs(duals['u'][rows] + duals['v'][perm[rows]] - costs[rows])
        scale = 1e-6 * max(1.0, float(np.abs(costs[rows]).max()) if rows.size else 1.0)
        if gap.size and gap.max() > scale:
            i = int(rows[int(np.argmax(gap))])
            errors.append(f'duals not tight on the assignment: row {i} has u + v - cost = {gap.max():.3g}')
        summary += ', duals tight on the assignment'
    return summary


def check_record(out, manifest, p, errors):
    """A listed pair has its record pairs/{from}_{to}.json, from the same source root, with the same entry."""
    path = os.path.join(out, 'pairs', f'{p.get("from")}_{p.get("to")}.json')
    try:
        with open(path) as fh:
            record = json.load(fh)
    except (OSError, ValueError) as e:
        errors.append(f'no readable record {os.path.relpath(path, out)} ({e})')
        return
    if record.get('source_root') != manifest.get('source_root'):
        errors.append(f'record source_root {record.get("source_root")!r} but the manifest has {manifest.get("source_root")!r}')
    if record.get('pair') != p:
        errors.append(f'record {os.path.relpath(path, out)} differs from the manifest entry')


def main(argv):
    args = [a for a in argv if not a.startswith('-')]
    quiet = '--quiet' in argv
    if '-h' in argv or '--help' in argv:
        print(__doc__.strip())
        return 0
    if len(args) != 1:
        print('usage: ' + __doc__.strip().splitlines()[2].strip())
        return 2
    out = args[0]
    try:
        with open(os.path.join(out, 'manifest.json')) as fh:
            manifest = json.load(fh)
    except (OSError, ValueError) as e:
        print(f'FAIL {out}: cannot read manifest.json ({e})')
        return 2
    pairs = manifest.get('pairs')
    if not isinstance(pairs, list) or not pairs:
        print(f'FAIL {out}/manifest.json: no pairs')
        return 1
    failed = 0
    seen = set()
    for p in pairs:
        errors = []
        key = (p.get('from'), p.get('to'))
        if key in seen:
            errors.append('pair listed twice in the manifest')
        seen.add(key)
        summary = check_pair(out, p, errors)
        check_record(out, manifest, p, errors)
        name = f'{p.get("from")} -> {p.get("to")}'
        if errors:
            failed += 1
            print(f'FAIL {name}:')
            for e in errors:
                print(f'  {e}')
        elif not quiet:
            print(f'OK   {name}: {summary}')
    print(f'{"OK" if not failed else "FAIL"}: {len(pairs) - failed}/{len(pairs)} pairs consistent in {out}'
          f' (metric {manifest.get("metric", "?")}, sae-match {manifest.get("version", "?")})')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
