#!/usr/bin/env python3
"""PyTorch CPU peer for Benchmarks/TensorBench (tensor-bench).

Times the same operations at the same sizes on 2 threads and prints one
JSON object {name: milliseconds (median)} on stdout. Run by tensor-bench;
also runnable alone:  python3 scripts/bench/tensor_peer.py [REPS [ONLY]]
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


def conv_layer(cin, cout, k, stride=1, groups=1, bias=False, norm=True,
               act=None):
    """conv → optional BN → optional activation, as TensorBench's ConvLayer."""
    layers = [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2,
                        groups=groups, bias=bias)]
    if norm:
        layers.append(nn.BatchNorm2d(cout))
    if act == "hswish":
        layers.append(nn.Hardswish())
    elif act == "relu":
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class Chain(nn.Module):
    def __init__(self, layers, residual):
        super().__init__()
        self.layers = nn.Sequential(*layers)
        self.residual = residual

    def forward(self, x):
        h = self.layers(x)
        return x + h if self.residual else h


def ds_conv(cin, cout):
    return Chain([conv_layer(cin, cin, 3, groups=cin, act="hswish"),
                  conv_layer(cin, cout, 1)], cin == cout)


def mb_conv(cin, cout, stride=1, fewer_norm=False):
    mid = cin * 4
    return Chain([
        conv_layer(cin, mid, 1, bias=fewer_norm, norm=not fewer_norm,
                   act="hswish"),
        conv_layer(mid, mid, 3, stride=stride, groups=mid, bias=fewer_norm,
                   norm=not fewer_norm, act="hswish"),
        conv_layer(mid, cout, 1)], cin == cout and stride == 1)


class LiteMLA(nn.Module):
    """Multi-scale ReLU linear attention; mirrors TensorBench's LiteMLA."""

    def __init__(self, channels, dim=16):
        super().__init__()
        self.dim = dim
        self.heads = channels // dim
        total = self.heads * dim
        self.qkv = conv_layer(channels, 3 * total, 1, norm=False)
        self.agg_dw = conv_layer(3 * total, 3 * total, 5, groups=3 * total,
                                 norm=False)
        self.agg_pw = conv_layer(3 * total, 3 * total, 1,
                                 groups=3 * self.heads, norm=False)
        self.project = conv_layer(2 * total, channels, 1)
        self.eps = 1e-15

    def forward(self, x):
        n, _, h, w = x.shape
        d = self.dim
        base = self.qkv(x)
        scaled = self.agg_pw(self.agg_dw(base))
        t = torch.cat([base, scaled], 1).reshape(n * 2 * self.heads, 3 * d,
                                                 h * w)
        q = F.relu(t[:, :d])
        k = F.relu(t[:, d:2 * d])
        v = t[:, 2 * d:]
        kv = v @ k.transpose(1, 2)
        num = kv @ q
        den = k.sum(2, keepdim=True).transpose(1, 2) @ q + self.eps
        out = (num / den).reshape(n, 2 * self.heads * d, h, w)
        return self.project(out)


class EViTBlock(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.attention = LiteMLA(channels)
        self.local = mb_conv(channels, channels, fewer_norm=True)

    def forward(self, x):
        return self.local(x + self.attention(x))


class B0Net(nn.Module):
    """Mirrors TensorBench's B0Net (EfficientViTB0.swift) layer for layer."""

    def __init__(self, classes=2):
        super().__init__()
        self.stem = conv_layer(3, 8, 3, stride=2, act="hswish")
        stages = [[ds_conv(8, 8)]]
        for cin, cout in [(8, 16), (16, 32)]:
            stages.append([mb_conv(cin, cout, 2), mb_conv(cout, cout)])
        for cin, cout in [(32, 64), (64, 128)]:
            stages.append([mb_conv(cin, cout, 2, fewer_norm=True),
                           EViTBlock(cout), EViTBlock(cout)])
        self.stages = nn.ModuleList(nn.Sequential(*s) for s in stages)
        self.inputs = nn.ModuleList(conv_layer(c, 32, 1) for c in
                                    [128, 64, 32])
        self.middle = mb_conv(32, 32, fewer_norm=True)
        self.final = conv_layer(32, 128, 1, act="hswish")
        self.classifier = conv_layer(128, classes, 1, bias=True, norm=False)

    def forward(self, x):
        h = self.stem(x)
        features = []
        for stage in self.stages:
            h = stage(h)
            features.append(h)
        eighth = features[2]
        size = eighth.shape[2:]
        merged = self.inputs[2](eighth)
        for i, f in [(0, features[4]), (1, features[3])]:
            merged = merged + F.interpolate(
                self.inputs[i](f), size=size, mode="bilinear",
                align_corners=False)
        y = self.final(self.middle(merged))
        return F.interpolate(self.classifier(y), size=x.shape[2:],
                             mode="bilinear", align_corners=False)


def attention_case(results):
    block = LiteMLA(64)
    x = torch.randn(1, 64, 256, 256)

    def fwd():
        block.eval()
        with torch.no_grad():
            block(x)

    def both():
        block.train()
        block.zero_grad()
        block(x).mean().backward()

    results["LiteMLA 64ch 256² fwd"] = median_ms(fwd)
    results["LiteMLA 64ch 256² fwd+bwd"] = median_ms(both)


def b0_case(size, results):
    net = B0Net()
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

    results[f"B0 net {size}² fwd"] = median_ms(fwd)
    if size > 1024:  # forward only at the large size
        return
    results[f"B0 net {size}² train step"] = median_ms(step)


if __name__ == "__main__":
    # Optional second argument: run only the cases whose names contain it.
    only = sys.argv[2] if len(sys.argv) > 2 else ""
    cases = [
        ("conv3x3 64→64 512²",
         lambda r: conv_case("conv3x3 64→64 512²", 64, 64, 3, 1, 512, r)),
        ("depthwise5x5 64 512²",
         lambda r: conv_case("depthwise5x5 64 512²", 64, 64, 5, 64, 512, r)),
        ("conv1x1 64→64 512²",
         lambda r: conv_case("conv1x1 64→64 512²", 64, 64, 1, 1, 512, r)),
        ("small net 256²", lambda r: net_case(256, r)),
        ("LiteMLA 64ch 256²", attention_case),
        ("B0 net 1024²", lambda r: b0_case(1024, r)),
        ("B0 net 4096²", lambda r: b0_case(4096, r)),
    ]
    r = {}
    for name, run in cases:
        if only in name:
            run(r)
    print(json.dumps(r))
