#!/usr/bin/env python3
"""PyTorch CPU peer for Benchmarks/TensorBench (tensor-bench).

Times the same operations at the same sizes on 2 threads and prints one
JSON object {name: milliseconds (median)} on stdout. Run by tensor-bench;
also runnable alone:  python3 scripts/bench/tensor_peer.py
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(2)
torch.manual_seed(0)
REPS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def median_ms(fn):
    fn()  # warm-up
    times = []
    for _ in range(REPS):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return sorted(times)[len(times) // 2]


def conv_case(name, cin, cout, k, groups, size, results):
    x = torch.randn(1, cin, size, size, requires_grad=True)
    w = torch.randn(cout, cin // groups, k, k, requires_grad=True)
    pad = k // 2

    def fwd():
        with torch.no_grad():
            F.conv2d(x, w, padding=pad, groups=groups)

    y = F.conv2d(x, w, padding=pad, groups=groups)
    g = torch.randn_like(y)

    def bwd():
        out = F.conv2d(x, w, padding=pad, groups=groups)
        torch.autograd.grad(out, [x, w], g)

    results[f"{name} fwd"] = median_ms(fwd)
    results[f"{name} fwd+bwd"] = median_ms(bwd)


class SmallNet(nn.Module):
    """Mirrors TensorBench's SmallNet layer for layer."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 16, 3, stride=2, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(16)
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)
        self.b2 = nn.BatchNorm2d(16)
        self.pw = nn.Conv2d(16, 32, 1, bias=False)
        self.b3 = nn.BatchNorm2d(32)
        self.c2 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.head = nn.Conv2d(32, 2, 1)

    def forward(self, x):
        h = F.hardswish(self.b1(self.c1(x)))
        h = F.relu(self.b2(self.dw(h)))
        h = F.gelu(self.b3(self.pw(h)))
        h = F.relu(self.c2(h))
        h = F.interpolate(h, size=x.shape[2:], mode="bilinear",
                          align_corners=False)
        return self.head(h)


def net_case(size, results):
    net = SmallNet()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    x = torch.rand(1, 3, size, size)
    t = torch.randint(0, 2, (1, size, size))

    def fwd():
        net.eval()
        with torch.no_grad():
            net(x)

    def step():
        net.train()
        opt.zero_grad()
        F.cross_entropy(net(x), t).backward()
        opt.step()

    results[f"small net {size}² fwd"] = median_ms(fwd)
    results[f"small net {size}² train step"] = median_ms(step)


if __name__ == "__main__":
    r = {}
    conv_case("conv3x3 64→64 512²", 64, 64, 3, 1, 512, r)
    conv_case("depthwise5x5 64 512²", 64, 64, 5, 64, 512, r)
    conv_case("conv1x1 64→64 512²", 64, 64, 1, 1, 512, r)
    net_case(256, r)
    print(json.dumps(r))
