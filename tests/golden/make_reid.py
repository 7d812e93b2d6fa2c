"""Golden cases for metrics/reid (tests/test_reid_metrics.cpp): Market-1501 mAP and CMC.

Each case stores the distance matrix, the query/gallery ids and cameras, and the numbers of
  * `reference`: a NumPy reference written here from the published protocol (torchreid's
    eval_market1501 in float64, ties broken by a stable sort), with the options the C++ has:
    junk_id (the official Market-1501 code's -1 junk images) and the official compute_AP.m AP;
  * `torchreid`: torchreid's own eval_market1501 (PyPI `torchreid` 0.2.5, a packaging of
    KaiyangZhou/deep-person-reid), where it applies: default options, no ties (its np.argsort is not
    stable), a gallery of at least max_rank kept entries per query (it cannot stack ragged curves),
    and at least one valid query (it asserts). Its CMC is float32, so it agrees to ~1e-7 only.
The script asserts reference == torchreid to 1e-6 wherever both exist; the C++ test compares with the
reference to 1e-9 and with torchreid to 1e-6.

torchreid's package __init__ imports cv2 and more, so rank.py is loaded from its file alone.
Run: /work/venv/bin/python tests/golden/make_reid.py   (pip install --no-deps torchreid for the check)
"""
import importlib.util
import json
import os
import warnings

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_RANK = 10


def load_torchreid_rank():
    spec = importlib.util.find_spec("torchreid")
    if spec is None:
        return None
    path = os.path.join(spec.submodule_search_locations[0], "reid", "metrics", "rank.py")
    module_spec = importlib.util.spec_from_file_location("torchreid_rank", path)
    module = importlib.util.module_from_spec(module_spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module_spec.loader.exec_module(module)
    return module.eval_market1501


def reference(dist, q_ids, q_cams, g_ids, g_cams, max_rank, junk_id=None, ap_style="torchreid"):
    """The Market-1501 protocol from its description, in float64."""
    cmc_sum = np.zeros(max_rank)
    aps, valid, skipped = [], 0, 0
    for q in range(dist.shape[0]):
        order = np.argsort(dist[q], kind="stable")
        remove = (g_ids[order] == q_ids[q]) & (g_cams[order] == q_cams[q])
        if junk_id is not None:
            remove |= g_ids[order] == junk_id
        good = (g_ids[order] == q_ids[q])[~remove]
        if not good.any():
            skipped += 1
            aps.append(None)
            continue
        valid += 1
        positions = np.flatnonzero(good)  # 0-based ranks of the matches
        cmc = np.zeros(max_rank)
        cmc[positions[0]:] = 1.0
        cmc_sum += cmc
        hits = np.arange(1, len(positions) + 1)
        precision = hits / (positions + 1.0)
        if ap_style == "torchreid":
            ap = precision.mean()
        else:  # compute_AP.m: trapezoid between the precision before and at each match
            before = np.where(positions == 0, 1.0, (hits - 1) / np.maximum(positions, 1).astype(float))
            ap = np.mean((before + precision) / 2)
        aps.append(float(ap))
    if valid == 0:
        return None
    return {"map": float(np.mean([a for a in aps if a is not None])), "cmc": (cmc_sum / valid).tolist(), "ap": aps,
            "valid": valid, "skipped": skipped}


def cases(rng):
    out = []

    def add(name, dist, q_ids, q_cams, g_ids, g_cams, **opts):
        out.append(dict(name=name, dist=np.asarray(dist, float), q_ids=np.asarray(q_ids), q_cams=np.asarray(q_cams),
                        g_ids=np.asarray(g_ids), g_cams=np.asarray(g_cams), **opts))

    for i in range(8):  # random: continuous distances, so no ties
        nq, ng, nid = rng.integers(3, 12), rng.integers(12, 40), rng.integers(2, 8)
        add(f"random_{i}", rng.random((nq, ng)), rng.integers(0, nid, nq), rng.integers(0, 3, nq),
            rng.integers(0, nid, ng), rng.integers(0, 3, ng))
    # ties: integer distances, rows long enough (> 16) that numpy's quicksort is not insertion sort
    add("ties", rng.integers(0, 3, (6, 30)), rng.integers(0, 3, 6), rng.integers(0, 2, 6),
        rng.integers(0, 3, 30), rng.integers(0, 2, 30))
    add("all_equal", np.zeros((3, 12)), [0, 1, 2], [0, 0, 1], [0, 1, 2] * 4, [1] * 12)
    # some queries without any valid match (id absent, or only in the query's own camera)
    add("skipped_queries", rng.random((5, 14)), [0, 1, 7, 2, 3], [0, 0, 0, 1, 1],
        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6], [1, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1, 0, 1])
    add("single_gallery", [[0.3], [0.1]], [4, 5], [0, 0], [4], [1])
    # Market-1501 junk (-1) and distractors (0)
    g_ids = np.array([-1, 0, 1, 1, -1, 2, 2, 0, 3, -1, 1, 2, 3, 3])
    g_cams = np.array([0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1])
    d = rng.random((4, len(g_ids)))
    for junk in (None, -1):
        for style in ("torchreid", "market_official"):
            add(f"junk_{junk}_{style}", d, [1, 2, 3, 1], [0, 1, 0, 1], g_ids, g_cams, junk_id=junk, ap=style)
    add("all_junk", rng.random((2, 5)), [1, 2], [0, 0], [-1] * 5, [1] * 5, junk_id=-1)
    add("official_ap_random", rng.random((7, 25)), rng.integers(0, 4, 7), rng.integers(0, 3, 7),
        rng.integers(0, 4, 25), rng.integers(0, 3, 25), ap="market_official")
    add("match_at_top", [[0.0, 0.5, 0.2, 0.9], [0.4, 0.3, 0.2, 0.1]], [1, 2], [0, 0], [1, 2, 1, 2], [1, 1, 1, 1],
        ap="market_official")
    return out


def write_app_files(rng, torchreid_eval):
    """tests/golden/reid_app/ for the iris-eval reid test: dist.npy, features, CSVs and expected numbers."""
    out = os.path.join(HERE, "reid_app")
    os.makedirs(out, exist_ok=True)
    nq, ng, nid = 12, 40, 6
    q_ids, q_cams = rng.integers(0, nid, nq), rng.integers(0, 3, nq)
    g_ids, g_cams = rng.integers(-1, nid, ng), rng.integers(0, 3, ng)  # -1: Market junk
    for name, ids, cams in (("query.csv", q_ids, q_cams), ("gallery.csv", g_ids, g_cams)):
        with open(os.path.join(out, name), "w") as f:
            f.write("id,camera\n" + "".join(f"{i},{c}\n" for i, c in zip(ids, cams)))
    # distances and features that favour the true identity, so the numbers look like a real model's
    dist = (rng.random((nq, ng)) + 0.5 * (g_ids[None, :] != q_ids[:, None])).astype(np.float32)
    np.save(os.path.join(out, "dist.npy"), dist)
    centres = rng.standard_normal((nid + 1, 8))
    qf = (centres[q_ids] + 0.8 * rng.standard_normal((nq, 8))).astype(np.float32)
    gf = (centres[g_ids] + 0.8 * rng.standard_normal((ng, 8))).astype(np.float32)
    np.save(os.path.join(out, "query_features.npy"), qf)
    np.save(os.path.join(out, "gallery_features.npy"), gf)
    q64, g64 = qf.astype(float), gf.astype(float)
    feats = {"euclidean": ((q64[:, None] - g64[None]) ** 2).sum(-1),
             "cosine": 1 - (q64 / np.linalg.norm(q64, axis=1, keepdims=True)) @
                       (g64 / np.linalg.norm(g64, axis=1, keepdims=True)).T}
    runs = {}

    def percent(ref):
        return {"map": 100 * ref["map"], "rank1": 100 * ref["cmc"][0], "rank5": 100 * ref["cmc"][4],
                "rank10": 100 * ref["cmc"][9]}

    for label, d, junk, style in (("dist", dist.astype(float), None, "torchreid"),
                                  ("dist_junk_market", dist.astype(float), -1, "market_official"),
                                  ("euclidean", feats["euclidean"], None, "torchreid"),
                                  ("cosine", feats["cosine"], None, "torchreid")):
        ref = reference(d, q_ids, q_cams, g_ids, g_cams, 20, junk, style)
        runs[label] = percent(ref)
        if torchreid_eval is not None and junk is None:
            cmc, mAP = torchreid_eval(d, q_ids, g_ids, q_cams, g_cams, 20)
            assert abs(100 * mAP - runs[label]["map"]) < 1e-9 and abs(100 * cmc[0] - runs[label]["rank1"]) < 1e-4
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(runs, f, indent=1)


def main():
    rng = np.random.default_rng(18)
    torchreid_eval = load_torchreid_rank()
    records = []
    for c in cases(rng):
        junk = c.get("junk_id")
        style = c.get("ap", "torchreid")
        ref = reference(c["dist"], c["q_ids"], c["q_cams"], c["g_ids"], c["g_cams"], MAX_RANK, junk, style)
        rec = {"name": c["name"], "dist": c["dist"].tolist(), "query_ids": c["q_ids"].tolist(),
               "query_cameras": c["q_cams"].tolist(), "gallery_ids": c["g_ids"].tolist(),
               "gallery_cameras": c["g_cams"].tolist(), "max_rank": MAX_RANK,
               "junk_id": junk, "ap_style": style, "reference": ref}
        ties = any(len(np.unique(row)) < len(row) for row in c["dist"])
        if torchreid_eval is not None and ref is not None and junk is None and style == "torchreid":
            kept_ok = all(
                np.sum(~((c["g_ids"] == c["q_ids"][q]) & (c["g_cams"] == c["q_cams"][q]))) >= MAX_RANK
                for q in range(len(c["q_ids"])))
            if kept_ok or c["dist"].shape[1] < MAX_RANK:
                cmc, mAP = torchreid_eval(c["dist"], c["q_ids"], c["g_ids"], c["q_cams"], c["g_cams"], MAX_RANK)
                rec["torchreid"] = {"map": float(mAP), "cmc": [float(x) for x in cmc]}
                same_order = np.array_equal(np.argsort(c["dist"], axis=1),
                                            np.argsort(c["dist"], axis=1, kind="stable"))
                rec["torchreid_order_is_stable"] = bool(same_order)
                if not ties or same_order:
                    assert abs(mAP - ref["map"]) < 1e-12, (c["name"], mAP, ref["map"])
                    assert np.allclose(cmc, ref["cmc"][:len(cmc)], atol=1e-6), (c["name"], cmc, ref["cmc"])
        records.append(rec)
    # torchreid's compute_distance_matrix: squared Euclidean, and 1 - cosine of F.normalize'd rows
    qf, gf = rng.standard_normal((4, 5)), rng.standard_normal((6, 5))
    gf[2] = 0.0
    sq = (qf[:, None, :] - gf[None, :, :]) ** 2
    norm = lambda x: x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    distances = {"query": qf.tolist(), "gallery": gf.tolist(), "euclidean": sq.sum(-1).tolist(),
                 "cosine": (1.0 - norm(qf) @ norm(gf).T).tolist()}
    path = os.path.join(HERE, "reid_cases.json")
    with open(path, "w") as f:
        json.dump({"numpy": np.__version__, "torchreid_checked": torchreid_eval is not None, "cases": records,
                   "distances": distances}, f)
    write_app_files(rng, torchreid_eval)
    print("wrote", path, len(records), "cases;", sum("torchreid" in r for r in records), "checked by torchreid")


if __name__ == "__main__":
    main()
