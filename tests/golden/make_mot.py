#!/usr/bin/env python3
"""Writes tests/golden/mot.json, py-motmetrics' numbers that tests/test_mot_metrics.cpp and the
iris-eval mot test compare metrics/mot (and the MOT reader) against.

Rerunnable: /work/venv/bin/python tests/golden/make_mot.py  (motmetrics 1.4.0, pandas, numpy, scipy
from PyPI). Deterministic (fixed seed). motmetrics 1.4.0 calls np.asfarray, which NumPy 2 removed;
the shim below puts it back (np.asarray(x, dtype=float), what it did).

Two parts:
  "synthetic": generated track sets (crossing objects with an identity swap, a tracker that keeps an
    old correspondence over a better new one, occlusions with the gt absent, tracker gaps and
    fragmented tracks, missing and empty frames, false-positive tracks with extra ids, random scenes
    with jitter around IoU 0.5), each with its boxes (frame, id, x, y, w, h; x, y 0-based as motmetrics
    holds them after loading) and motmetrics' metrics; plus the OVERALL row over all of them.
  "tud": the MOTChallenge sample sequences py-motmetrics ships (motmetrics/data/TUD-Campus and
    TUD-Stadtmitte, copied to tests/golden/mot/gt/<seq>/gt/gt.txt and tests/golden/mot/ts/<seq>.txt),
    evaluated exactly as its eval_motchallenge app does (loadtxt mot15-2D, gt min_confidence=1,
    compare_to_groundtruth 'iou' distth 0.5, compute_many with OVERALL).
Metric values: counts as integers, ratios as floats, NaN / inf as the strings "nan", "inf", "-inf".
"""
import json
import math
import os

import numpy as np

if not hasattr(np, "asfarray"):
    np.asfarray = lambda a, dtype=float: np.asarray(a, dtype=dtype)

import pandas as pd
import motmetrics as mm

HERE = os.path.dirname(os.path.abspath(__file__))
METRICS = list(mm.metrics.motchallenge_metrics) + [
    "num_matches", "num_objects", "num_predictions", "num_detections", "idtp", "idfp", "idfn"]
rng = np.random.default_rng(20180)


def to_df(rows):
    if not rows:
        idx = pd.MultiIndex.from_arrays([[], []], names=["FrameId", "Id"])
        return pd.DataFrame({k: pd.Series(dtype=float) for k in ["X", "Y", "Width", "Height"]}, index=idx)
    a = np.array(rows, dtype=float)
    idx = pd.MultiIndex.from_arrays([a[:, 0].astype(int), a[:, 1].astype(int)], names=["FrameId", "Id"])
    return pd.DataFrame({"X": a[:, 2], "Y": a[:, 3], "Width": a[:, 4], "Height": a[:, 5]}, index=idx)


def value(v):
    if isinstance(v, (np.integer, int)):
        return int(v)
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def summarize(accs, names):
    mh = mm.metrics.create()
    summary = mh.compute_many(accs, names=names, metrics=METRICS, generate_overall=True)
    return {name: {m: value(summary.loc[name, m]) for m in METRICS} for name in summary.index}


def walk(n_frames, start=None, size=None):
    """A random walk of a box: (x, y, w, h) per frame."""
    w, h = size if size is not None else (rng.uniform(20, 60), rng.uniform(50, 150))
    x, y = start if start is not None else (rng.uniform(0, 600), rng.uniform(0, 300))
    vx, vy = rng.normal(0, 4), rng.normal(0, 2)
    out = []
    for _ in range(n_frames):
        out.append((x, y, w, h))
        x, y = x + vx + rng.normal(0, 1), y + vy + rng.normal(0, 1)
    return out


def jitter(box, amount):
    x, y, w, h = box
    return (x + rng.normal(0, amount * w), y + rng.normal(0, amount * h), w * math.exp(rng.normal(0, amount)),
            h * math.exp(rng.normal(0, amount)))


sets = []


def add(name, gt, hyp):
    sets.append({"name": name, "gt": [list(map(float, r)) for r in gt], "hyp": [list(map(float, r)) for r in hyp]})


# Two objects cross; the tracker swaps their ids after the crossing (2 switches).
gt, hyp = [], []
for f in range(1, 21):
    a = (10 + 15 * f, 100, 40, 100)
    b = (310 - 15 * f, 105, 40, 100)
    gt += [(f, 1) + a, (f, 2) + b]
    ha, hb = jitter(a, 0.03), jitter(b, 0.03)
    if f <= 11:
        hyp += [(f, 7) + ha, (f, 8) + hb]
    else:
        hyp += [(f, 8) + ha, (f, 7) + hb]
add("crossing swap", gt, hyp)

# An object keeps its hypothesis while that is within reach, though a new one fits better.
gt, hyp = [], []
for f in range(1, 13):
    o = (100 + 2 * f, 50, 50, 120)
    gt.append((f, 1) + o)
    hyp.append((f, 5) + (o[0] + 9, o[1] + 12, 50, 120))  # IoU about 0.6: distance < 0.5
    if f >= 5:
        hyp.append((f, 6) + jitter(o, 0.01))  # better, but the old pairing is kept (6: false positives)
add("keeps the old correspondence", gt, hyp)

# Occlusion: the gt object disappears for 4 frames while the tracker coasts (FPs); then a gap in the
# tracker (misses, a fragmentation), then the tracker regains it under a new id (a switch).
gt, hyp = [], []
track = walk(30)
for f, box in enumerate(track, 1):
    if not 10 <= f <= 13:
        gt.append((f, 3) + box)
    if 18 <= f <= 20:
        continue
    hyp.append((f, 30 if f < 24 else 31) + jitter(box, 0.04))
add("occlusion, gap, new id", gt, hyp)

# Missing frames: whole frames without tracker output, frames without gt (only FPs), frames absent.
gt, hyp = [], []
tracks = [walk(25) for _ in range(4)]
for f in range(1, 26):
    if f in (15, 16):
        continue  # no frame at all
    for k, t in enumerate(tracks):
        if f not in (5, 6, 7):
            gt.append((f, k + 1) + t[f - 1])
        if f not in (9, 20):
            hyp.append((f, k + 11) + jitter(t[f - 1], 0.05))
add("missing and empty frames", gt, hyp)

# Fragmented tracks and extra ids: the tracker drops objects in short bursts, a few spurious tracks.
gt, hyp = [], []
tracks = [walk(40) for _ in range(5)]
for f in range(1, 41):
    for k, t in enumerate(tracks):
        gt.append((f, k + 1) + t[f - 1])
        if (f + 7 * k) % 11 in (3, 4):
            continue
        hyp.append((f, k + 101 + 10 * ((f + k) // 17)) + jitter(t[f - 1], 0.06))
    if f % 9 < 3:
        hyp.append((f, 900 + f // 9) + (rng.uniform(0, 600), rng.uniform(0, 300), 30, 80))
add("fragments and extra ids", gt, hyp)

# Edge cases: no tracker output; no gt for a tracker; one frame each.
gt = [(1, 1, 0, 0, 10, 10), (2, 1, 1, 0, 10, 10), (2, 2, 50, 50, 10, 20)]
add("empty tracker", gt, [])
add("single frame", [(4, 1, 0, 0, 10, 10), (4, 2, 20, 0, 10, 10)],
    [(4, 9, 1, 1, 10, 10), (4, 8, 19, 0, 10, 10), (4, 7, 100, 100, 5, 5)])
# Zero-size boxes and exact ties at the threshold (IoU exactly 0.5 is within reach).
add("degenerate boxes and the threshold",
    [(1, 1, 0, 0, 10, 10), (1, 2, 30, 0, 0, 10), (2, 1, 0, 0, 10, 10), (2, 3, 60, 0, 10, 10)],
    [(1, 5, 0, 0, 10, 5), (1, 6, 30, 0, 0, 10), (2, 5, 0, 0, 5, 10), (2, 6, 60, 0, 10, 10)])

# Random crowded scenes: many objects entering and leaving, jitter near the 0.5 distance, ids switched.
for s in range(6):
    gt, hyp = [], []
    n_frames = 30 + 10 * s
    next_hyp = 1000
    for k in range(4 + 2 * s):
        start = int(rng.integers(1, n_frames - 5))
        length = int(rng.integers(5, n_frames - start + 2))
        t = walk(length, size=(rng.uniform(25, 50), rng.uniform(60, 120)))
        hid = next_hyp
        next_hyp += 1
        for i, box in enumerate(t):
            f = start + i
            if rng.random() < 0.05:
                continue  # gt occluded
            gt.append((f, k + 1) + box)
            if rng.random() < 0.15:
                continue  # missed
            if rng.random() < 0.04:
                hid, next_hyp = next_hyp, next_hyp + 1  # tracker restarts the track
            hyp.append((f, hid) + jitter(box, 0.05 + 0.1 * rng.random()))
    for f in range(1, n_frames + 1):
        if rng.random() < 0.3:
            hyp.append((f, 5000 + f) + (rng.uniform(0, 600), rng.uniform(0, 300), 40, 90))
    # A few frames' ids shuffled (swaps).
    rows = {}
    for r in hyp:
        rows.setdefault(r[0], []).append(r)
    out = []
    for f in sorted(rows):
        rs = rows[f]
        if rng.random() < 0.1 and len(rs) >= 2:
            ids = [r[1] for r in rs]
            rng.shuffle(ids)
            rs = [(r[0], i) + tuple(r[2:]) for r, i in zip(rs, ids)]
        out += rs
    order = rng.permutation(len(gt))  # rows out of frame order, as files may be
    add(f"random scene {s}", [gt[i] for i in order], out)

accs = [mm.utils.compare_to_groundtruth(to_df(c["gt"]), to_df(c["hyp"]), "iou", distth=0.5) for c in sets]
synthetic = summarize(accs, [c["name"] for c in sets])
for c in sets:
    c["metrics"] = synthetic[c["name"]]

# The TUD sample sequences, as eval_motchallenge reads them.
tud_names = ["TUD-Campus", "TUD-Stadtmitte"]
gts = [mm.io.loadtxt(os.path.join(HERE, "mot", "gt", n, "gt", "gt.txt"), fmt="mot15-2D", min_confidence=1)
       for n in tud_names]
tss = [mm.io.loadtxt(os.path.join(HERE, "mot", "ts", n + ".txt"), fmt="mot15-2D") for n in tud_names]
accs = [mm.utils.compare_to_groundtruth(g, t, "iou", distth=0.5) for g, t in zip(gts, tss)]
tud = summarize(accs, tud_names)
mh = mm.metrics.create()
table = mm.io.render_summary(mh.compute_many(accs, names=tud_names, metrics=mm.metrics.motchallenge_metrics,
                                             generate_overall=True),
                             formatters=mh.formatters, namemap=mm.io.motchallenge_metric_names)
print(table)

out = {"motmetrics": mm.__version__, "synthetic": sets, "synthetic_overall": synthetic["OVERALL"], "tud": tud,
       "tud_table": table}
path = os.path.join(HERE, "mot.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {path}: {len(sets)} synthetic sets + TUD ({os.path.getsize(path)} bytes)")
