"""Golden data for PNL's losses (losses/reid_noisy.h, tests/test_pnl.cpp), all in f64: a PyTorch port of
the formulas of the official PNL forward (papers/pnl.md 4.3; pnl_builder.py / lup_pnl.py), written from the
spec, on fixed random inputs with B = 6 queries, D = 8, K = 5 classes and a queue of Q = 10 keys:
  - prototype logits z = q C^T / tau and the correction rule l = alpha softmax(cls) + (1 - alpha) softmax(z),
    y-hat = argmax l where max l > T, else y (inputs built so some rows are replaced and some kept);
  - L_lgc: logits [q.k, q queue^T] / tau, positives = the own key plus (label-guided) queue entries with the
    query's label; mean over rows of -(1/|P|) sum_P log_softmax; plain MoCo (own key only) too;
  - one full step in the code's order (correction on, label-guided on, the mask from the incoming labels):
    L_ce = CE(cls, y-hat), L_pro = CE(z, y-hat), total = L_ce + L_lgc + L_pro, and the gradients w.r.t. the
    class logits and q (k, the queue and the prototypes are constants);
  - the momentum prototype update, the code's sequential loop over the batch (labels repeat), then L2-normalise.
Defaults: tau 0.07, alpha 0.5, T 0.8, m2 0.999 (a smaller m2 = 0.5 is also saved, where the loop order shows).
Rerun: /work/venv/bin/python tests/golden/make_pnl.py
"""
import os

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

torch.manual_seed(25)
dt = torch.float64
B, D, K, Q = 6, 8, 5, 10
tau, alpha, th = 0.07, 0.5, 0.8
out = {}

# ---- inputs --------------------------------------------------------------------------------------
protos = F.normalize(torch.randn(K, D, dtype=dt), dim=1)
protos[4] = 0.0  # a class never seen yet: its prototype is still zero
# rows 0, 1: q near prototype 2 / 3 and the classifier agrees -> replaced; row 2: q near prototype 1 but the
# classifier says 0 -> kept; rows 3..5: random.
q = F.normalize(torch.randn(B, D, dtype=dt), dim=1)
q[0] = F.normalize(protos[2] + 0.05 * torch.randn(D, dtype=dt), dim=0)
q[1] = F.normalize(protos[3] + 0.05 * torch.randn(D, dtype=dt), dim=0)
q[2] = F.normalize(protos[1] + 0.05 * torch.randn(D, dtype=dt), dim=0)
cls = torch.randn(B, K, dtype=dt)
cls[0, 2] += 8.0
cls[1, 3] += 8.0
cls[2, 0] += 8.0
labels = torch.tensor([0, 1, 1, 3, 2, 0])  # noisy labels; 0 and 1 differ from the corrected ones
k = F.normalize(q.detach() + 0.3 * torch.randn(B, D, dtype=dt), dim=1)
queue = F.normalize(torch.randn(Q, D, dtype=dt), dim=1)
queue_labels = torch.tensor([0, 2, -1, 1, 3, 0, -1, 2, 4, 1])
for name, t in [("q", q), ("k", k), ("cls", cls), ("labels", labels), ("prototypes", protos),
                ("queue", queue), ("queue_labels", queue_labels)]:
    out["input." + name] = t.clone()


def proto_logits(qq):
    return qq @ protos.t() / tau


def correct(cls_logits, z, y):
    soft = alpha * F.softmax(cls_logits, dim=1) + (1 - alpha) * F.softmax(z, dim=1)
    best, arg = soft.max(dim=1)
    y = y.clone()
    y[best > th] = arg[best > th]
    return y, best


def lgc(qq, query_labels, supcont):
    logits = torch.cat([(qq * k).sum(1, keepdim=True), qq @ queue.t()], dim=1) / tau
    if supcont:
        mask = torch.cat([torch.ones(B, 1, dtype=dt), (query_labels[:, None] == queue_labels[None, :]).to(dt)], 1)
    else:
        mask = torch.zeros_like(logits)
        mask[:, 0] = 1.0
    return torch.mean(-(torch.log_softmax(logits, dim=1) * mask).sum(1) / mask.sum(1))


# ---- correction -----------------------------------------------------------------------------------
z = proto_logits(q)
yhat, best = correct(cls, z, labels)
assert (yhat != labels).sum() >= 2 and (yhat == labels).sum() >= 2, (yhat, labels, best)
out["out.proto_logits"], out["out.corrected"], out["out.best_score"] = z, yhat, best
# threshold 0: every row takes the argmax of l
soft = alpha * F.softmax(cls, 1) + (1 - alpha) * F.softmax(z, 1)
out["out.corrected_th0"] = torch.where(soft.max(1).values > 0.0, soft.argmax(1), labels)

# ---- L_lgc alone ----------------------------------------------------------------------------------
for supcont in (False, True):
    qq = q.clone().requires_grad_(True)
    loss = lgc(qq, labels, supcont)
    loss.backward()
    tag = "supcont" if supcont else "moco"
    out["out.lgc_" + tag], out["grad.q_lgc_" + tag] = loss.detach(), qq.grad

# ---- one full step (correction on, label-guided on) -------------------------------------------------
qq = q.clone().requires_grad_(True)
cc = cls.clone().requires_grad_(True)
zz = proto_logits(qq)
y_step, _ = correct(cc.detach(), zz.detach(), labels)
l_inst = lgc(qq, labels, True)  # the mask is built from the incoming labels, before the correction
l_ce = F.cross_entropy(cc, y_step)
l_pro = F.cross_entropy(zz, y_step)
total = l_ce + 1.0 * l_inst + 1.0 * l_pro
total.backward()
out["out.step_ce"], out["out.step_pro"], out["out.step_lgc"] = l_ce.detach(), l_pro.detach(), l_inst.detach()
out["out.step_total"], out["grad.step_q"], out["grad.step_cls"] = total.detach(), qq.grad, cc.grad
# the spec's variant: positives from the corrected query labels
out["out.lgc_corrected_query"] = lgc(q, y_step, True).detach()

# ---- momentum prototypes (the code's loop, in batch order) ------------------------------------------
for m2, tag in ((0.999, "m999"), (0.5, "m5")):
    p = protos.clone()
    for feat, lab in zip(q, y_step):
        p[lab] = p[lab] * m2 + (1 - m2) * feat
    out["out.prototypes_" + tag] = F.normalize(p, p=2, dim=1)

out = {name: t.contiguous() for name, t in out.items()}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pnl_losses.safetensors")
save_file(out, path)
print("wrote", path, "corrected", yhat.tolist(), "from", labels.tolist(), "best", [round(v, 4) for v in best.tolist()])
