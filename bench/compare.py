#!/usr/bin/env python3
"""Joins iris_bench and torch_ref.py JSON lines: prints a table with the iris/PyTorch ratio of each
benchmark, then one JSON line (the apps' final-line format) with the headline metrics:
sgemm_1024_frac_peak, sgemm_vs_torch_min, vit_{small,tiny}_{train,eval}_ratio, davit_train_ratio,
rss_ratio and the targets met. Usage: compare.py iris.jsonl torch.jsonl"""
import json
import sys


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                rec = json.loads(line)
                out.setdefault(rec["bench"], []).append(rec)
    return out


def main():
    iris, torch = load(sys.argv[1]), load(sys.argv[2])
    version = torch.get("torch_version", [{"value": "?"}])[0]["value"]
    peaks = [r["value"] for r in iris.get("fma_peak", [])]
    print(f"{'benchmark':<26}{'iris':>12}{'PyTorch':>12}{'ratio':>8}  unit")
    ratios = {}
    for name in iris:
        if name in ("fma_peak", "fma_peak_end", "torch_version") or name not in torch:
            continue
        a, b = iris[name][-1], torch[name][-1]
        ratio = a["value"] / b["value"] if b["value"] else float("nan")
        ratios[name] = ratio
        extra = f"  ({a['frac_peak'] * 100:.0f}% of peak)" if "frac_peak" in a else ""
        print(f"{name:<26}{a['value']:>12.1f}{b['value']:>12.1f}{ratio:>8.2f}  {a['unit']}{extra}")
    gemm = {k: v for k, v in ratios.items() if k.startswith("gemm_")}
    rss = [ratios[k] for k in ratios if k.endswith("_rss")]
    metrics = {
        "torch": version,
        "fma_peak_gflops": round(max(peaks), 1) if peaks else None,
        "sgemm_1024_frac_peak": round(iris["gemm_sq1024"][-1]["frac_peak"], 3) if "gemm_sq1024" in iris else None,
        "sgemm_vs_torch_min": round(min(gemm.values()), 3) if gemm else None,
        "rss_ratio": round(max(rss), 3) if rss else None,
    }
    for cfg in ("small", "tiny"):
        for kind in ("train", "eval"):
            key = f"vit_{cfg}_{kind}"
            metrics[key + "_ratio"] = round(ratios[key], 3) if key in ratios else None
    metrics["davit_train_ratio"] = round(ratios["davit_mini_train"], 3) if "davit_mini_train" in ratios else None
    targets = {
        "sgemm_1024_frac_peak": (metrics["sgemm_1024_frac_peak"], 0.85),
        "sgemm_vs_torch_min": (metrics["sgemm_vs_torch_min"], 1.0),
        "vit_small_train_ratio": (metrics["vit_small_train_ratio"], 2.0),
        "vit_tiny_train_ratio": (metrics["vit_tiny_train_ratio"], 1.3),
        "vit_small_eval_ratio": (metrics["vit_small_eval_ratio"], 2.0),
        "vit_tiny_eval_ratio": (metrics["vit_tiny_eval_ratio"], 1.3),
        "davit_train_ratio": (metrics["davit_train_ratio"], 1.5),
    }
    print()
    ends = [r["value"] for r in iris.get("fma_peak_end", [])]
    if peaks and ends and abs(ends[-1] - peaks[-1]) > 0.15 * peaks[-1]:
        print(f"  WARNING: the FMA peak moved from {peaks[-1]:.1f} to {ends[-1]:.1f} GFLOP/s during the GEMM group:"
              " the host throttled this run; rerun before trusting the GEMM ratios")
    for k, (v, want) in targets.items():
        ok = v is not None and v >= want
        print(f"  {'met ' if ok else 'MISS'} {k} = {v} (target >= {want})")
    if metrics["rss_ratio"] is not None:
        print(f"  {'met ' if metrics['rss_ratio'] <= 1.0 else 'MISS'} rss_ratio = {metrics['rss_ratio']} (target <= 1.0)")
    print(json.dumps({"app": "bench", "cmd": "compare", "metrics": metrics}))


if __name__ == "__main__":
    main()
