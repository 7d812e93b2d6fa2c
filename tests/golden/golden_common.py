"""What the golden-file scripts (make.py, make_davit.py, make_swin.py, make_minivit.py) share: the AdamW
settings, the perturbation of timm's init, a random batch, the recording of one classifier's weights, batch, outputs,
gradients and AdamW losses into the tensor dict a C++ test reads (tests/golden_helpers.h), and the metadata.
Leaves out building the models and the metadata (each script knows its own config).
"""
import json
import math
import os

import timm
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ADAMW = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05)


def perturb_linear_norm_bias(model, gen, position_tables=False):
    """Linear weights ~ N(0, 1/fan_in), norm weights 1 + 0.2 N(0, 1), biases 0.1 N(0, 1) (and, with
    position_tables, every relative_position_bias_table N(0, 1)), drawn from gen in parameter order."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if position_tables and name.endswith("relative_position_bias_table"):
                p.copy_(torch.randn(p.shape, generator=gen))
            elif name.endswith(".weight") and p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(p.shape[1]))
            elif "norm" in name and name.endswith(".weight"):
                p.copy_(1.0 + 0.2 * torch.randn(p.shape, generator=gen))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))


def random_batch(gen, batch, in_chans, size, num_classes, uniform=False):
    """images [batch, in_chans, size, size] (N(0, 1), or U[0, 1) with uniform) and labels [batch] in
    [0, num_classes), drawn from gen in that order."""
    draw = torch.rand if uniform else torch.randn
    images = draw(batch, in_chans, size, size, generator=gen)
    labels = torch.randint(0, num_classes, (batch,), generator=gen)
    return images, labels


def record_classifier(model, images, labels, adamw_steps=0):
    """Returns (tensors, loss, losses): "param.<name>" (the state dict now), "input.images",
    "input.labels", "out.logits", "out.loss" (mean cross-entropy), "grad.<name>" (one per unique
    parameter, as named_parameters) and, with adamw_steps, "train.losses" [adamw_steps]: the loss before
    each AdamW step (ADAMW, one group: every parameter decays) on the same batch."""
    tensors = {"param." + n: v.detach().clone().contiguous() for n, v in model.state_dict().items()}
    tensors["input.images"] = images
    tensors["input.labels"] = labels

    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors["out.logits"] = logits.detach().clone()
    tensors["out.loss"] = loss.detach().clone().reshape(())
    for n, prm in model.named_parameters():
        tensors["grad." + n] = prm.grad.detach().clone().contiguous()

    losses = []
    if adamw_steps:
        opt = torch.optim.AdamW(model.parameters(), **ADAMW)
        for _ in range(adamw_steps):
            opt.zero_grad()
            l = F.cross_entropy(model(images), labels)
            losses.append(l.item())
            l.backward()
            opt.step()
        tensors["train.losses"] = torch.tensor(losses, dtype=torch.float32)
    return tensors, loss, losses


def model_metadata(config, script, adamw=True):
    """The metadata of a model file: the config (JSON), ADAMW (when the file has AdamW steps), the torch
    and timm versions, and the script that made it (e.g. "make_swin.py")."""
    meta = {"config": json.dumps(config)}
    if adamw:
        meta["adamw"] = json.dumps(ADAMW)
    meta.update({"torch": torch.__version__, "timm": timm.__version__, "made_by": "tests/golden/" + script})
    return meta


def print_written(path, tensors, loss, losses):
    print(f"wrote {path} ({os.path.getsize(path)} bytes): {len(tensors)} tensors, loss {loss.item():.6f}, "
          f"losses {['%.6f' % x for x in losses]}")


def save_golden(name, tensors, meta):
    """Writes <name>.safetensors beside these scripts; returns its path."""
    path = os.path.join(HERE, name + ".safetensors")
    save_file(tensors, path, metadata=meta)
    return path
