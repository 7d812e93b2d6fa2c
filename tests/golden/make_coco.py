"""COCO box-evaluation golden sets: ground truth and detections, and what pycocotools' COCOeval says.

Writes tests/golden/coco/NAME_gt.json (a COCO instances file), NAME_dt.json (a results list) for
every set below, and tests/golden/coco/expected.json: per set the 12 stats of summarize(), the
per-category AP@[.5:.95] (precision[:, :, k, area all, maxDets 100] averaged over entries > -1, -1
when none), the 12 lines summarize() printed, and, for sets with `ignore` flags, the same with COCOeval's _prepare changed to honour
them (ignore = ignore or iscrowd) for CocoEvalOptions::use_ignore_flag.
Checked by tests/test_coco_eval.cpp (to 1e-6) and tests/test_iris_eval_coco.cpp (the app).

    /work/venv/bin/python tests/golden/make_coco.py      (numpy, pycocotools)
"""
import contextlib
import copy
import importlib.metadata
import io
import json
import os

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "coco")


def r2(v):
    return float(round(float(v), 2))


def box_jitter(rng, b, scale):
    x, y, w, h = b
    nx = x + rng.normal(0, scale) * w
    ny = y + rng.normal(0, scale) * h
    nw = max(0.5, w * (1 + rng.normal(0, scale)))
    nh = max(0.5, h * (1 + rng.normal(0, scale)))
    return [r2(nx), r2(ny), r2(nw), r2(nh)]


def random_set(seed, n_images=20, n_cats=4, gt_per_image=(0, 8), fp_per_image=(0, 4), size=(4, 200),
               miss=0.15, wrong=0.05, jitter=0.08, score_round=None, cat_ids=None, image_ids=None):
    rng = np.random.RandomState(seed)
    cat_ids = cat_ids or list(range(1, n_cats + 1))
    image_ids = image_ids or list(range(1, n_images + 1))
    images = [{"id": i, "file_name": "%06d.jpg" % i, "width": 640, "height": 480} for i in image_ids]
    cats = [{"id": c, "name": "class%d" % c} for c in cat_ids]
    anns, dets = [], []
    for im in image_ids:
        for _ in range(rng.randint(gt_per_image[0], gt_per_image[1] + 1)):
            w = r2(np.exp(rng.uniform(np.log(size[0]), np.log(size[1]))))
            h = r2(w * np.exp(rng.uniform(-0.7, 0.7)))
            b = [r2(rng.uniform(0, 500)), r2(rng.uniform(0, 400)), w, h]
            c = int(rng.choice(cat_ids))
            anns.append({"id": len(anns) + 1, "image_id": im, "category_id": c, "bbox": b,
                         "area": r2(w * h * rng.uniform(0.6, 1.0)), "iscrowd": 0})
            if rng.rand() < miss:
                continue
            dc = int(rng.choice(cat_ids)) if rng.rand() < wrong else c
            dets.append({"image_id": im, "category_id": dc, "bbox": box_jitter(rng, b, jitter),
                         "score": float(rng.rand())})
        for _ in range(rng.randint(fp_per_image[0], fp_per_image[1] + 1)):
            w = r2(np.exp(rng.uniform(np.log(size[0]), np.log(size[1]))))
            dets.append({"image_id": im, "category_id": int(rng.choice(cat_ids)),
                         "bbox": [r2(rng.uniform(0, 500)), r2(rng.uniform(0, 400)), w, r2(w * rng.uniform(0.5, 2))],
                         "score": float(rng.rand() * 0.7)})
    if score_round is not None:
        for d in dets:
            d["score"] = float(np.round(d["score"] * score_round) / score_round)
    order = rng.permutation(len(dets))
    dets = [dets[i] for i in order]
    return {"images": images, "categories": cats, "annotations": anns}, dets


def hand(images, cats, anns, dets):
    """A set written out by hand: anns are (image, cat, bbox, extra dict), dets (image, cat, bbox, score)."""
    a = []
    for n, (im, c, b, extra) in enumerate(anns):
        ann = {"id": n + 1, "image_id": im, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": 0}
        ann.update(extra)
        a.append(ann)
    return ({"images": [{"id": i} for i in images], "categories": [{"id": c, "name": "c%d" % c} for c in cats],
             "annotations": a},
            [{"image_id": im, "category_id": c, "bbox": b, "score": s} for im, c, b, s in dets])


class IgnoreAwareEval(COCOeval):
    """COCOeval whose _prepare keeps the `ignore` field (ignore = ignore or iscrowd)."""

    flags = {}  # annotation id -> its `ignore` field, read before _prepare overwrites it

    def _prepare(self):
        super()._prepare()
        for gts in self._gts.values():
            for g in gts:
                g["ignore"] = bool(self.flags.get(g["id"], 0)) or bool(g.get("iscrowd", 0))


def evaluate(gt_data, dets, cls=COCOeval):
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        gt = COCO()
        gt.dataset = copy.deepcopy(gt_data)
        gt.createIndex()
        if dets:
            dt = gt.loadRes(copy.deepcopy(dets))
        else:  # loadRes cannot take an empty list (it reads anns[0]); an empty result set instead
            dt = COCO()
            dt.dataset = {"images": list(gt.dataset["images"]), "categories": copy.deepcopy(gt.dataset["categories"]),
                          "annotations": []}
            dt.createIndex()
        e = cls(gt, dt, "bbox")
        e.flags = {a["id"]: a.get("ignore", 0) for a in gt_data["annotations"]}
        e.evaluate()
        e.accumulate()
        e.summarize()
    prec = e.eval["precision"]
    class_ap = []
    for k in range(len(e.params.catIds)):
        p = prec[:, :, k, 0, -1]
        p = p[p > -1]
        class_ap.append(float(np.mean(p)) if p.size else -1.0)
    lines = [line for line in printed.getvalue().splitlines() if line.startswith(" Average")]
    return {"stats": [float(s) for s in e.stats], "category_ids": [int(c) for c in e.params.catIds],
            "class_ap": class_ap, "summary_lines": lines}


def sets():
    s = {}
    s["random_small"] = random_set(1, n_images=8, n_cats=3)
    s["random_medium"] = random_set(2, n_images=30, n_cats=5, gt_per_image=(0, 10), size=(3, 300))
    s["random_large"] = random_set(3, n_images=60, n_cats=8, gt_per_image=(0, 12), fp_per_image=(0, 6),
                                   size=(2, 400), jitter=0.12)
    s["random_tight"] = random_set(4, n_images=20, n_cats=3, jitter=0.02, miss=0.05)
    s["random_loose"] = random_set(5, n_images=20, n_cats=3, jitter=0.25, miss=0.3, wrong=0.2)
    s["score_ties"] = random_set(6, n_images=15, n_cats=3, score_round=2)  # scores 0, 0.5, 1
    s["score_ties_tenths"] = random_set(7, n_images=25, n_cats=4, score_round=10)
    # Unsorted, sparse image and category ids (both are sorted by the evaluation, not taken in file order).
    s["unsorted_ids"] = random_set(8, n_images=12, cat_ids=[90, 3, 17, 5], image_ids=[500, 7, 123456, 42, 3, 99, 1000,
                                                                                     8, 61, 2, 77, 15])

    # All scores equal: the ranking is the file order, within and across images.
    g, d = random_set(9, n_images=10, n_cats=2)
    for x in d:
        x["score"] = 1.0
    s["all_ties"] = (g, d)

    # Many images without ground truth, some of them with (false) detections only.
    g, d = random_set(10, n_images=30, n_cats=3, gt_per_image=(0, 0), fp_per_image=(0, 3))
    g2, d2 = random_set(11, n_images=10, n_cats=3, image_ids=list(range(31, 41)))
    s["empty_images"] = ({"images": g["images"] + g2["images"], "categories": g["categories"],
                          "annotations": g2["annotations"]}, d + d2)

    # Ground truth on every image, detections on only some.
    g, d = random_set(12, n_images=16, n_cats=3)
    s["images_without_detections"] = (g, [x for x in d if x["image_id"] % 3 != 0])

    # No detections at all.
    g, _ = random_set(13, n_images=6, n_cats=2)
    s["no_detections"] = (g, [])

    # Every detection labelled with a wrong class (some with category ids that do not exist).
    g, d = random_set(14, n_images=12, n_cats=3, miss=0.0, fp_per_image=(0, 0))
    for n, x in enumerate(d):
        x["category_id"] = (x["category_id"] % 3) + 1 if n % 4 else 77
    s["all_wrong_classes"] = (g, d)

    # Duplicates: every detection twice (same box and score), plus duplicated ground-truth boxes.
    g, d = random_set(15, n_images=10, n_cats=2)
    extra = [dict(a, id=1000 + a["id"]) for a in g["annotations"][::3]]
    g["annotations"] = g["annotations"] + extra
    s["duplicates"] = (g, d + copy.deepcopy(d))

    # Tiny boxes: sub-pixel and zero-size boxes, areas near 0.
    g, d = random_set(16, n_images=10, n_cats=2, size=(0.05, 3), jitter=0.1)
    for x in d[::5]:
        x["bbox"][2] = 0.0
    for a in g["annotations"][::7]:
        a["bbox"][3] = 0.0
        a["area"] = 0.0
    s["tiny_boxes"] = (g, d)

    # Crowd regions: large crowd boxes holding many detections, mixed with regular ground truth.
    g, d = random_set(17, n_images=12, n_cats=2, size=(10, 150))
    rng = np.random.RandomState(170)
    for im in g["images"][::2]:
        cb = [r2(rng.uniform(0, 200)), r2(rng.uniform(0, 150)), r2(rng.uniform(150, 300)), r2(rng.uniform(150, 300))]
        c = int(rng.randint(1, 3))
        g["annotations"].append({"id": len(g["annotations"]) + 1, "image_id": im["id"], "category_id": c,
                                 "bbox": cb, "area": r2(cb[2] * cb[3] * 0.5), "iscrowd": 1})
        for _ in range(rng.randint(3, 15)):
            w = r2(rng.uniform(5, 60))
            d.append({"image_id": im["id"], "category_id": c, "score": float(rng.rand()),
                      "bbox": [r2(cb[0] + rng.uniform(-10, cb[2])), r2(cb[1] + rng.uniform(-10, cb[3])), w,
                               r2(w * rng.uniform(0.5, 2))]})
    s["crowd"] = (g, d)

    # `ignore` flags on non-crowd ground truth (COCOeval overwrites them with iscrowd).
    g, d = random_set(18, n_images=12, n_cats=3)
    for a in g["annotations"][::3]:
        a["ignore"] = 1
    g["annotations"][1]["iscrowd"] = 1
    s["ignore_flags"] = (g, d)

    # More than 100 detections per image, the true positives ranked past 100 on some images.
    rng = np.random.RandomState(19)
    g, d = random_set(19, n_images=4, n_cats=2, gt_per_image=(5, 12), fp_per_image=(0, 0), miss=0.0)
    for im in g["images"]:
        for _ in range(rng.randint(95, 160)):
            w = r2(rng.uniform(5, 120))
            d.append({"image_id": im["id"], "category_id": int(rng.randint(1, 3)), "score": float(rng.uniform(0.3, 1)),
                      "bbox": [r2(rng.uniform(0, 500)), r2(rng.uniform(0, 400)), w, r2(w * rng.uniform(0.5, 2))]})
    for x in d[:6]:
        x["score"] = 0.01
    s["over_100_per_image"] = (g, d)

    # Categories with no ground truth: one with detections only, one with nothing.
    g, d = random_set(20, n_images=10, n_cats=3)
    g["categories"] += [{"id": 4, "name": "dets only"}, {"id": 5, "name": "nothing"}]
    d += [{"image_id": 1 + n % 10, "category_id": 4, "bbox": [10.0, 10.0, 20.0 + n, 20.0], "score": 0.1 * (n % 9)}
          for n in range(12)]
    s["categories_without_gt"] = (g, d)

    # Area and IoU exactly on the boundaries (32², 96², IoU 0.5 and 0.75), hand-made.
    s["boundaries"] = hand(
        [1, 2, 3], [1, 2],
        [(1, 1, [0, 0, 32, 32], {}), (1, 1, [100, 100, 96, 96], {}), (1, 2, [0, 0, 10, 10], {}),
         (2, 1, [0, 0, 10, 10], {"area": 1024}), (2, 2, [50, 50, 20, 20], {"area": 9216}),
         (3, 1, [0, 0, 40, 40], {}), (3, 2, [0, 0, 200, 100], {})],
        [(1, 1, [0, 0, 32, 32], 0.9), (1, 1, [100, 100, 48, 96], 0.8), (1, 2, [0, 0, 5, 10], 0.7),
         (1, 2, [0, 0, 7.5, 10], 0.6), (2, 1, [0, 0, 10, 10], 0.5), (2, 2, [50, 50, 15, 20], 0.5),
         (3, 1, [0, 0, 20, 40], 0.4), (3, 1, [0, 0, 30, 40], 0.4), (3, 2, [0, 0, 200, 75], 0.3),
         (3, 2, [0, 0, 96, 96], 0.2), (2, 1, [0, 0, 32, 32], 0.95)])

    # Perfect detections: AP = AR = 1 wherever defined.
    g, _ = random_set(21, n_images=8, n_cats=3)
    s["perfect"] = (g, [{"image_id": a["image_id"], "category_id": a["category_id"], "bbox": list(a["bbox"]),
                         "score": 1.0 - 0.001 * a["id"]} for a in g["annotations"]])

    # A ground truth whose id is 0 (COCOeval then counts its match as a false positive).
    g, d = random_set(22, n_images=5, n_cats=2, miss=0.0)
    g["annotations"][0]["id"] = 0
    s["gt_id_zero"] = (g, d)

    # A crowd region over regular ground truth: a detection on a regular box never moves to the crowd.
    s["crowd_over_regular"] = hand(
        [1, 2], [1],
        [(1, 1, [0, 0, 100, 100], {"iscrowd": 1}), (1, 1, [10, 10, 30, 30], {}), (1, 1, [50, 50, 30, 30], {}),
         (2, 1, [0, 0, 50, 50], {}), (2, 1, [5, 5, 50, 50], {"iscrowd": 1})],
        [(1, 1, [10, 10, 30, 30], 0.9), (1, 1, [11, 11, 30, 30], 0.85), (1, 1, [52, 50, 30, 30], 0.8),
         (1, 1, [20, 20, 10, 10], 0.7), (1, 1, [0, 0, 100, 100], 0.6), (1, 1, [200, 200, 10, 10], 0.5),
         (2, 1, [0, 0, 50, 50], 0.4), (2, 1, [6, 6, 48, 48], 0.45), (2, 1, [2, 2, 50, 50], 0.3)])

    # One ground truth and a score-ordered ladder of detections of falling IoU; exactly 10 and 11 per image.
    dets = [(1, 1, [0, 0, 100 - 6 * n, 100], 1 - 0.05 * n) for n in range(11)]
    dets += [(2, 1, [0, 0, 100, 100 - 5 * n], 0.5) for n in range(10)]
    s["ladder_maxdets"] = hand([1, 2], [1], [(1, 1, [0, 0, 100, 100], {}), (2, 1, [0, 0, 100, 100], {}),
                                             (2, 1, [0, 0, 100, 50], {})], dets)
    return s


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"pycocotools": importlib.metadata.version("pycocotools"), "numpy": np.__version__, "sets": {}}
    for name, (g, d) in sets().items():
        with open(os.path.join(OUT, name + "_gt.json"), "w") as f:
            json.dump(g, f, separators=(",", ":"))
        with open(os.path.join(OUT, name + "_dt.json"), "w") as f:
            json.dump(d, f, separators=(",", ":"))
        res = evaluate(g, d)
        if any("ignore" in a for a in g["annotations"]):
            res["with_ignore_flag"] = evaluate(g, d, IgnoreAwareEval)
        expected["sets"][name] = res
        print("%-28s gt %4d dt %4d  AP %.4f AP50 %.4f AR100 %.4f" % (name, len(g["annotations"]), len(d),
                                                                      res["stats"][0], res["stats"][1], res["stats"][8]))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
