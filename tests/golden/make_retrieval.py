"""Golden cases for metrics/retrieval (tests/test_retrieval.cpp): image <-> text recall@k and zero-shot
top-k accuracy.

Each case stores a similarity matrix [images, texts], caption_image (the image of each caption) and:
  * `reference`: NumPy, ranking by a stable sort of -score (ties to the lower index, as the C++);
  * `clip_benchmark`: clip_benchmark's recall_at_k formula (torch.topk, one-hot, any positive in the
    top k), restated here in torch, and its zero-shot accuracy (topk + eq); stored only for cases
    without ties, where torch.topk's order is unambiguous. The script asserts both agree there.
Run: /work/venv/bin/python tests/golden/make_retrieval.py
"""
import json
import os

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
KS = [1, 2, 5, 10]


def ref_recall(sim, caption_image, k):
    """sim [I, T]. Returns (image->text, text->image) recall@k in percent."""
    n_img, n_txt = sim.shape
    i2t = []
    for i in range(n_img):
        order = np.argsort(-sim[i], kind="stable")[:k]
        i2t.append(np.any(caption_image[order] == i))
    t2i = []
    for t in range(n_txt):
        order = np.argsort(-sim[:, t], kind="stable")[:k]
        t2i.append(np.any(order == caption_image[t]))
    return 100.0 * np.mean(i2t), 100.0 * np.mean(t2i)


def clip_benchmark_recall(scores, positive_pairs, k):
    """clip_benchmark.metrics.zeroshot_retrieval.recall_at_k: scores [queries, candidates]."""
    nb_queries, nb_candidates = scores.shape
    topk = torch.topk(scores, k, dim=1)[1]
    onehot = torch.nn.functional.one_hot(topk, num_classes=nb_candidates)
    true_pos = (onehot * positive_pairs.view(nb_queries, 1, nb_candidates)).sum(dim=(1, 2))
    return true_pos / positive_pairs.sum(dim=1)


def clip_benchmark_topk(logits, target, k):
    pred = logits.topk(k, 1, True, True)[1].t()
    correct = pred.eq(target.view(1, -1).expand_as(pred))
    return float(correct[:k].reshape(-1).float().sum(0)) / len(target) * 100


def main():
    rng = np.random.default_rng(5)
    cases = []

    def add(name, sim, caption_image):
        sim = np.asarray(sim, float)
        caption_image = np.asarray(caption_image)
        n_img, n_txt = sim.shape
        rec = {"name": name, "similarity": sim.tolist(), "caption_image": caption_image.tolist(), "ks": [],
               "image_to_text": [], "text_to_image": []}
        ties = any(len(np.unique(r)) < len(r) for r in sim) or any(len(np.unique(c)) < len(c) for c in sim.T)
        cb = None if ties else {"image_to_text": [], "text_to_image": []}
        positive = torch.zeros(n_txt, n_img, dtype=torch.bool)
        positive[torch.arange(n_txt), torch.as_tensor(caption_image)] = True
        s = torch.as_tensor(sim).t()  # clip_benchmark's scores: [texts, images]
        for k in KS:
            if k > min(n_img, n_txt):
                continue
            i2t, t2i = ref_recall(sim, caption_image, k)
            rec["ks"].append(k)
            rec["image_to_text"].append(i2t)
            rec["text_to_image"].append(t2i)
            if cb is not None:
                cb_t2i = 100 * float((clip_benchmark_recall(s, positive, k) > 0).double().mean())
                cb_i2t = 100 * float((clip_benchmark_recall(s.t(), positive.t(), k) > 0).double().mean())
                assert abs(cb_t2i - t2i) < 1e-9 and abs(cb_i2t - i2t) < 1e-9, (name, k)
                cb["image_to_text"].append(cb_i2t)
                cb["text_to_image"].append(cb_t2i)
        if cb is not None:
            rec["clip_benchmark"] = cb
        cases.append(rec)

    for i in range(4):  # 8 images with 1..3 captions each, shuffled
        counts = rng.integers(1, 4, 8)
        caption_image = rng.permutation(np.repeat(np.arange(8), counts))
        sim = rng.standard_normal((8, len(caption_image))) + 1.5 * (caption_image[None, :] == np.arange(8)[:, None])
        add(f"random_{i}", sim, caption_image)
    add("ties", rng.integers(0, 3, (6, 12)), np.repeat(np.arange(6), 2))
    add("all_equal", np.zeros((4, 8)), rng.permutation(np.repeat(np.arange(4), 2)))

    zero_shot = []
    for i in range(3):
        logits = rng.standard_normal((30, 7))
        labels = rng.integers(0, 7, 30)
        zero_shot.append({"similarity": logits.tolist(), "labels": labels.tolist(), "ks": [1, 3, 5],
                          "top": [clip_benchmark_topk(torch.as_tensor(logits), torch.as_tensor(labels), k)
                                  for k in (1, 3, 5)]})
    path = os.path.join(HERE, "retrieval.json")
    with open(path, "w") as f:
        json.dump({"torch": torch.__version__, "cases": cases, "zero_shot": zero_shot}, f)
    print("wrote", path, len(cases), "retrieval cases,", sum("clip_benchmark" in c for c in cases),
          "checked by the clip_benchmark formula;", len(zero_shot), "zero-shot cases")


if __name__ == "__main__":
    main()
