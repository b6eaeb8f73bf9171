#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures for the Tensor module's tests.

Run from the repository root:  python3 scripts/make_tensor_fixtures.py

Outputs (small, committed):
  Tests/TensorTests/Fixtures/ops.safetensors     per-op forward/backward
  Tests/TensorTests/Fixtures/tissue.safetensors  a real 64x64 RGB crop with
                                                 a tissue/background label

Each op case NAME stores inputs NAME.in<i>, outputs NAME.out<k>, upstream
gradients NAME.gout<k> and input gradients NAME.grad<i> of the loss
sum_k sum(out_k * gout_k). References are computed in float64, stored F32.
The Swift tests (TensorTests/PyTorchParityTests.swift) hard-code the same
op parameters per case name.
"""
import os
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "TensorTests", "Fixtures")
torch.manual_seed(1234)
store = {}


def rnd(*shape, lo=-2.0, hi=2.0):
    return torch.rand(tuple(shape), dtype=torch.float64) * (hi - lo) + lo


def case(name, inputs, fn, grads_for=None):
    """Runs fn on float64 copies of inputs; records outputs and grads."""
    xs = [t.clone().requires_grad_(grads_for is None or i in grads_for)
          for i, t in enumerate(inputs)]
    outs = fn(*xs)
    if not isinstance(outs, (list, tuple)):
        outs = [outs]
    loss = 0
    for k, o in enumerate(outs):
        g = rnd(*o.shape)
        store[f"{name}.gout{k}"] = g
        store[f"{name}.out{k}"] = o.detach()
        loss = loss + (o * g).sum()
    loss.backward()
    for i, x in enumerate(xs):
        store[f"{name}.in{i}"] = inputs[i]
        if x.grad is not None:
            store[f"{name}.grad{i}"] = x.grad


case("add", [rnd(2, 3, 4, 5), rnd(3, 1, 5)], lambda a, b: a + b)
case("sub", [rnd(2, 3, 4), rnd(4)], lambda a, b: a - b)
case("mul", [rnd(2, 3, 4, 5), rnd(1, 3, 1, 1)], lambda a, b: a * b)
case("div", [rnd(2, 3, 4), rnd(2, 1, 4, lo=0.5, hi=2)], lambda a, b: a / b)
case("relu", [rnd(2, 3, 4, 5)], F.relu)
case("gelu", [rnd(2, 3, 4, 5, lo=-4, hi=4)], F.gelu)
case("hardswish", [rnd(2, 3, 4, 5, lo=-5, hi=5)], F.hardswish)
case("sigmoid", [rnd(2, 3, 4, 5, lo=-5, hi=5)], torch.sigmoid)
case("softmax", [rnd(2, 5, 3, 4)], lambda x: F.softmax(x, dim=1))
case("log_softmax", [rnd(3, 7)], lambda x: F.log_softmax(x, dim=-1))
case("matmul", [rnd(5, 7), rnd(7, 3)], torch.matmul)
case("bmm", [rnd(2, 5, 7), rnd(2, 7, 3)], torch.matmul)
case("linear", [rnd(4, 6), rnd(5, 6), rnd(5)], F.linear)
case("conv3x3", [rnd(2, 4, 9, 9), rnd(6, 4, 3, 3), rnd(6)],
     lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1))
case("conv_group", [rnd(1, 4, 11, 11), rnd(6, 2, 3, 3)],
     lambda x, w: F.conv2d(x, w, None, stride=2, padding=2, dilation=2,
                           groups=2))
case("conv_dw5", [rnd(2, 6, 10, 10), rnd(6, 1, 5, 5), rnd(6)],
     lambda x, w, b: F.conv2d(x, w, b, padding=2, groups=6))
case("conv_dw_s2", [rnd(1, 4, 9, 9), rnd(4, 1, 3, 3)],
     lambda x, w: F.conv2d(x, w, None, stride=2, padding=1, groups=4))
case("conv1x1", [rnd(2, 5, 6, 6), rnd(7, 5, 1, 1), rnd(7)],
     lambda x, w, b: F.conv2d(x, w, b))

rm, rv = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
case("bn_train", [rnd(3, 4, 5, 5), rnd(4), rnd(4)],
     lambda x, g, b: F.batch_norm(x, rm, rv, g, b, training=True,
                                  momentum=0.1, eps=1e-5))
store["bn_train.running_mean"] = rm.clone()
store["bn_train.running_var"] = rv.clone()
erm, erv = rnd(4), rnd(4, lo=0.5, hi=2)
store["bn_eval.running_mean"] = erm
store["bn_eval.running_var"] = erv
case("bn_eval", [rnd(3, 4, 5, 5), rnd(4), rnd(4)],
     lambda x, g, b: F.batch_norm(x, erm, erv, g, b, training=False,
                                  eps=1e-5))
case("ln_last", [rnd(3, 4, 6), rnd(6), rnd(6)],
     lambda x, g, b: F.layer_norm(x, [6], g, b, eps=1e-5))
case("ln_channels", [rnd(2, 5, 3, 4), rnd(5), rnd(5)],
     lambda x, g, b: F.layer_norm(x.permute(0, 2, 3, 1), [5], g, b,
                                  eps=1e-5).permute(0, 3, 1, 2))
case("concat", [rnd(2, 3, 4), rnd(2, 2, 4)], lambda a, b: torch.cat([a, b], 1))
case("split", [rnd(2, 7, 3)], lambda x: list(torch.split(x, [3, 4], dim=1)))
case("permute", [rnd(2, 3, 4, 5)], lambda x: x.permute(0, 2, 3, 1))
case("pad", [rnd(1, 2, 4, 5)], lambda x: F.pad(x, (3, 0, 1, 2)))
case("crop", [rnd(1, 2, 6, 7)], lambda x: x[:, :, 1:4, 2:6])
case("bilinear_down", [rnd(1, 2, 5, 7)],
     lambda x: F.interpolate(x, size=(8, 4), mode="bilinear",
                             align_corners=False))
case("bilinear_up", [rnd(1, 2, 4, 4)],
     lambda x: F.interpolate(x, size=(9, 7), mode="bilinear",
                             align_corners=False))
case("nearest", [rnd(1, 2, 5, 7)],
     lambda x: F.interpolate(x, size=(8, 4), mode="nearest"))
case("nearest_up", [rnd(1, 2, 5, 7)],
     lambda x: F.interpolate(x, size=(10, 14), mode="nearest"))
case("avgpool", [rnd(1, 3, 8, 8)],
     lambda x: F.avg_pool2d(x, 3, stride=2, padding=1))
case("maxpool", [rnd(1, 3, 8, 8)],
     lambda x: F.max_pool2d(x, 3, stride=2, padding=1))
case("maxpool2", [rnd(2, 3, 6, 6)], lambda x: F.max_pool2d(x, 2))
case("pixel_shuffle", [rnd(1, 8, 3, 3)], lambda x: F.pixel_shuffle(x, 2))
case("sum_dims", [rnd(2, 3, 4, 5)], lambda x: x.sum(dim=(1, 3)))
case("mean_dims", [rnd(2, 3, 4, 5)], lambda x: x.mean(dim=(0, 2),
                                                        keepdim=True))


def codebook(x, cb):
    d = (x * x).sum(1, keepdim=True) - 2 * x @ cb.T + (cb * cb).sum(1)
    idx = d.argmin(1)
    store["codebook.indices"] = idx
    q = cb[idx]
    return x + (q - x).detach()


case("codebook", [rnd(10, 4), rnd(6, 4)], codebook, grads_for={0})

targets = torch.randint(0, 4, (2, 3, 3))
targets[0, 1, 2] = -100
store["cross_entropy.targets"] = targets
case("cross_entropy", [rnd(2, 4, 3, 3)],
     lambda x: F.cross_entropy(x, targets, ignore_index=-100))
onehot = F.one_hot(torch.randint(0, 3, (2, 4, 4)), 3).permute(0, 3, 1, 2)
onehot = onehot.to(torch.float64)
store["dice.target"] = onehot


def dice(p):
    inter = (p * onehot).sum((0, 2, 3))
    den = p.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - ((2 * inter + 1) / (den + 1)).mean()


case("dice", [torch.softmax(rnd(2, 3, 4, 4), 1)], dice)
case("sum_all", [rnd(3, 4, 5)], lambda x: x.sum())
case("mean_all", [rnd(3, 4, 5)], lambda x: x.mean())
case("sum_keep", [rnd(2, 3, 4)], lambda x: x.sum(dim=-1, keepdim=True))
case("concat3", [rnd(2, 1, 3), rnd(2, 2, 3), rnd(2, 4, 3)],
     lambda a, b, c: torch.cat([a, b, c], 1))

os.makedirs(OUT, exist_ok=True)
out = {}
for k, v in store.items():
    v = v.detach().contiguous()
    out[k] = v.to(torch.int64) if not v.is_floating_point() else v.float()
save_file(out, os.path.join(OUT, "ops.safetensors"))


def tissue():
    """A 64x64 real crop with a tissue label (saturation above Otsu)."""
    from PIL import Image
    path = "/work/shared/data/tiles/skimage_ihc.png"
    img = Image.open(path).convert("RGB").resize((128, 128), Image.BILINEAR)
    a = np.asarray(img).astype(np.float32) / 255.0
    mx, mn = a.max(2), a.min(2)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0)
    hist, edges = np.histogram(sat, bins=64, range=(0, 1))
    best, thr = -1, 0.5
    for i in range(1, 64):  # Otsu on saturation
        w0, w1 = hist[:i].sum(), hist[i:].sum()
        if w0 == 0 or w1 == 0:
            continue
        c = (edges[:-1] + edges[1:]) / 2
        m0 = (hist[:i] * c[:i]).sum() / w0
        m1 = (hist[i:] * c[i:]).sum() / w1
        v = w0 * w1 * (m0 - m1) ** 2
        if v > best:
            best, thr = v, edges[i]
    label = (sat > thr).astype(np.int64)
    crops = {}
    for name, (y, x) in {"train": (0, 0), "test": (64, 64)}.items():
        crops[f"{name}.image"] = torch.from_numpy(
            a[y:y + 64, x:x + 64].transpose(2, 0, 1).copy())[None]
        crops[f"{name}.label"] = torch.from_numpy(label[y:y + 64, x:x + 64]
                                                  .copy())[None]
        frac = crops[f"{name}.label"].float().mean().item()
        print(f"{name}: tissue fraction {frac:.2f}, threshold {thr:.3f}")
    save_file(crops, os.path.join(OUT, "tissue.safetensors"))


tissue()
