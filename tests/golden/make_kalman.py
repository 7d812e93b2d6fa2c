#!/usr/bin/env python3
"""Writes tests/golden/kalman.json, the reference tests/test_kalman.cpp compares track/kalman with.

Rerunnable: /work/venv/bin/python tests/golden/make_kalman.py  (numpy, scipy from PyPI).
Deterministic (fixed seed), float64.

The filter is written here from the formulas of DeepSORT's kalman_filter.py (shared by JDE and
FairMOT): 8-d state (x, y, a, h, vx, vy, va, vh), F = [I I; 0 I], H = [I 0],
std_weight_position 1/20, std_weight_velocity 1/160; noise from the height:
  initiate std  (2wp h, 2wp h, 1e-2, 2wp h, 10wv h, 10wv h, 1e-5, 10wv h)
  predict  Q    diag(wp h, wp h, 1e-2, wp h, wv h, wv h, 1e-5, wv h)^2   (h of the mean)
  project  R    diag(wp h, wp h, 1e-1, wp h)^2
  update   K = P H^T S^-1 (scipy cho_solve), m += K (z - Hm), P -= K S K^T
  gating   squared Mahalanobis distance through the Cholesky factor of S (x, y only if asked)
Each track: an initial measurement, then steps of "predict" and "update" (a noisy measurement)
or "predict" alone (a missed frame); after every step the mean and covariance; at some steps
gating distances of a few measurements (full and position-only). Also the chi-square 0.95
quantiles (scipy.stats.chi2.ppf) for the table's degrees of freedom 1..9.
"""
import json
import os

import numpy as np
import scipy.linalg
import scipy.stats

WP, WV = 1.0 / 20, 1.0 / 160
F = np.eye(8)
F[:4, 4:] = np.eye(4)
H = np.eye(4, 8)


def initiate(z):
    mean = np.r_[z, np.zeros(4)]
    h = z[3]
    std = [2 * WP * h, 2 * WP * h, 1e-2, 2 * WP * h, 10 * WV * h, 10 * WV * h, 1e-5, 10 * WV * h]
    return mean, np.diag(np.square(std))


def predict(mean, cov):
    h = mean[3]
    q = np.diag(np.square([WP * h, WP * h, 1e-2, WP * h, WV * h, WV * h, 1e-5, WV * h]))
    return F @ mean, F @ cov @ F.T + q


def project(mean, cov):
    h = mean[3]
    r = np.diag(np.square([WP * h, WP * h, 1e-1, WP * h]))
    return H @ mean, H @ cov @ H.T + r


def update(mean, cov, z):
    pm, pc = project(mean, cov)
    chol = scipy.linalg.cho_factor(pc, lower=True, check_finite=False)
    gain = scipy.linalg.cho_solve(chol, (cov @ H.T).T, check_finite=False).T
    return mean + gain @ (z - pm), cov - gain @ pc @ gain.T


def gating(mean, cov, zs, only_position):
    pm, pc = project(mean, cov)
    if only_position:
        pm, pc, zs = pm[:2], pc[:2, :2], zs[:, :2]
    L = np.linalg.cholesky(pc)
    y = scipy.linalg.solve_triangular(L, (zs - pm).T, lower=True, check_finite=False)
    return np.sum(y * y, axis=0)


rng = np.random.default_rng(1802)
tracks = []
for t in range(6):
    truth = np.array([rng.uniform(0, 1900), rng.uniform(0, 1000), rng.uniform(0.3, 0.8), rng.uniform(20, 400)])
    vel = np.array([rng.normal(0, 5), rng.normal(0, 3), rng.normal(0, 0.002), rng.normal(0, 1)])
    noise = lambda: truth + rng.normal(size=4) * [3, 3, 0.02, 3]
    z0 = noise()
    mean, cov = initiate(z0)
    steps = []
    for s in range(20):
        truth = truth + vel
        mean, cov = predict(mean, cov)
        step = {}
        if rng.random() < 0.75:
            z = noise()
            step["measurement"] = z.tolist()
            if s % 4 == 1:  # gate a few candidates before the update
                zs = np.array([z, truth, noise(), truth + [40, -30, 0.1, 20], truth * [1.5, 0.7, 1.2, 0.6]])
                step["candidates"] = zs.tolist()
                step["gating"] = gating(mean, cov, zs, False).tolist()
                step["gating_position"] = gating(mean, cov, zs, True).tolist()
            mean, cov = update(mean, cov, z)
        step["mean"] = mean.tolist()
        step["cov"] = cov.ravel().tolist()
        steps.append(step)
    init_mean, init_cov = initiate(z0)
    tracks.append({"initial": z0.tolist(), "initial_mean": init_mean.tolist(), "initial_cov": init_cov.ravel().tolist(),
                   "steps": steps})

out = {"chi2inv95": [float(scipy.stats.chi2.ppf(0.95, d)) for d in range(1, 10)], "tracks": tracks}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kalman.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {path}: {len(tracks)} tracks ({os.path.getsize(path)} bytes)")
