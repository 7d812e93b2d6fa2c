#!/usr/bin/env python3
"""Writes tests/golden/hungarian.json, the scipy answers tests/test_hungarian.cpp compares
track/hungarian against.

Rerunnable: /work/venv/bin/python tests/golden/make_hungarian.py  (numpy, scipy, motmetrics from
PyPI). Deterministic (fixed seed).

Each case: a rows x cols cost matrix (row-major; null = NaN, "inf" = +inf: both forbidden), an
optional threshold (entries above it are forbidden), and scipy's answer:
  * no forbidden entry: scipy.optimize.linear_sum_assignment itself;
  * forbidden entries: motmetrics.lap.lsa_solve_scipy (forbidden entries become one large
    constant, scipy solves, pairs on forbidden entries are dropped) -- the problem py-motmetrics
    solves every frame: the most allowed pairs, then the least cost.
"pairs" are (row, col) sorted by row, "cost" the sum of their entries, and "unique" whether the
optimum's set of allowed pairs is unique (brute force over all assignments for small matrices;
continuous random matrices count as unique; other large ones as not known: false).
"""
import itertools
import json
import math
import os

import numpy as np
import scipy
from scipy.optimize import linear_sum_assignment
from motmetrics import lap

rng = np.random.default_rng(18)
cases = []


def solve(cost):
    if cost.size == 0:
        return [], 0.0
    valid = np.isfinite(cost)
    if valid.all():
        r, c = linear_sum_assignment(cost)
    else:
        r, c = lap.lsa_solve_scipy(cost)
    pairs = sorted((int(i), int(j)) for i, j in zip(r, c))
    return pairs, float(sum(cost[i, j] for i, j in pairs))


def unique_optimum(cost):
    """Whether exactly one set of allowed pairs is optimal (brute force), or None if too large."""
    nr, nc = cost.shape
    if min(nr, nc) == 0:
        return True
    if math.perm(max(nr, nc), min(nr, nc)) > 50000:
        return None
    finite = lap.add_expensive_edges(cost)
    valid = np.isfinite(cost)
    best, sets = None, set()
    transpose = nr > nc
    m = finite.T if transpose else finite
    for perm in itertools.permutations(range(m.shape[1]), m.shape[0]):
        total = sum(m[i, j] for i, j in enumerate(perm))
        pairs = frozenset((j, i) if transpose else (i, j) for i, j in enumerate(perm))
        pairs = frozenset(p for p in pairs if valid[p])
        if best is None or total < best - 1e-9:
            best, sets = total, {pairs}
        elif abs(total - best) <= 1e-9:
            sets.add(pairs)
    return len(sets) == 1


def add(name, cost, threshold=None, continuous=False):
    cost = np.array(cost, dtype=float).reshape(cost.shape if hasattr(cost, 'shape') else (len(cost), -1))
    effective = cost.copy()
    if threshold is not None:
        effective[effective > threshold] = np.nan
    pairs, total = solve(effective)
    unique = unique_optimum(effective)
    if unique is None:
        unique = continuous
    entries = []
    for v in cost.ravel():
        entries.append(None if np.isnan(v) else ("inf" if np.isinf(v) else float(v)))
    case = {"name": name, "rows": cost.shape[0], "cols": cost.shape[1], "cost": entries,
            "pairs": pairs, "total": total, "unique": bool(unique)}
    if threshold is not None:
        case["threshold"] = threshold
    cases.append(case)


# Empty and degenerate shapes.
add("0x0", np.zeros((0, 0)))
add("0x3", np.zeros((0, 3)))
add("4x0", np.zeros((4, 0)))
add("1x1", np.array([[2.5]]))
add("1x6", rng.random((1, 6)), continuous=True)
add("7x1", rng.random((7, 1)), continuous=True)
# Continuous random matrices of many shapes, some with negative entries.
for nr, nc in [(2, 2), (3, 5), (5, 3), (6, 6), (4, 9), (9, 4), (8, 8), (12, 15), (15, 12), (30, 40), (40, 30)]:
    add(f"uniform {nr}x{nc}", rng.random((nr, nc)), continuous=True)
    add(f"normal {nr}x{nc}", rng.normal(size=(nr, nc)) * 100, continuous=True)
# Ties: small integers, constant matrices, repeated rows.
for k, (nr, nc) in enumerate([(3, 3), (4, 4), (3, 6), (6, 3), (5, 5), (6, 7), (10, 10), (12, 8)]):
    add(f"integers 0..2 {nr}x{nc}", rng.integers(0, 3, size=(nr, nc)))
add("constant 4x4", np.full((4, 4), 7.0))
add("constant 3x5", np.full((3, 5), 1.0))
add("constant 5x2", np.full((5, 2), 0.0))
add("repeated rows 4x5", np.tile(rng.random((1, 5)), (4, 1)))
# Forbidden entries (NaN / inf), with and without a full assignment of allowed pairs.
for k, (nr, nc) in enumerate([(3, 3), (4, 6), (6, 4), (5, 5), (7, 7), (8, 5), (10, 12)]):
    m = rng.random((nr, nc))
    mask = rng.random((nr, nc)) < 0.4
    m[mask] = np.where(rng.random(mask.sum()) < 0.5, np.nan, np.inf)
    add(f"forbidden 40% {nr}x{nc}", m, continuous=True)
    m = rng.random((nr, nc))
    m[rng.random((nr, nc)) < 0.75] = np.nan
    add(f"forbidden 75% {nr}x{nc}", m, continuous=True)
add("all forbidden 3x4", np.full((3, 4), np.nan))
add("one allowed 3x3", np.array([[np.nan, np.nan, np.nan], [np.nan, 0.3, np.inf], [np.inf, np.nan, np.nan]]))
# More allowed pairs beat a lower cost: (0,0)+(1,1) would cost 0.1 but (1,1) is forbidden.
add("cardinality first 2x2", np.array([[0.1, 0.2], [0.3, np.nan]]))
add("forbidden integer ties 5x5",
    np.where(rng.random((5, 5)) < 0.3, np.nan, rng.integers(0, 3, size=(5, 5)).astype(float)))
# A threshold above which pairs are not matched.
for nr, nc in [(4, 4), (5, 7), (7, 5), (9, 9)]:
    add(f"threshold 0.5 {nr}x{nc}", rng.random((nr, nc)), threshold=0.5, continuous=True)
add("threshold with NaN 6x6", np.where(rng.random((6, 6)) < 0.2, np.nan, rng.random((6, 6))), threshold=0.6,
    continuous=True)

out = {"scipy": scipy.__version__, "cases": cases}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hungarian.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {path}: {len(cases)} cases ({os.path.getsize(path)} bytes)")
