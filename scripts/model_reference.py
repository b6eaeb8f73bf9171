#!/usr/bin/env python3
"""PyTorch reference definition of the HoloHisto segmentation models.

This file is the specification the Swift `Model` module is tested against:
the same layers, the same parameter names (PyTorch `state_dict` keys equal
the Swift checkpoint names) and the same arithmetic. Variants:

  holohisto  VQ sequential tokenizer -> two-stage ReLU-linear-attention ViT
             -> segmentation head (the method)
  patch      strided f x f convolution instead of the tokenizer (ablation)
  softmax    softmax multi-head self-attention instead of linear attention
             (ablation; global, or windowed when attention_window > 0)
  unet       U-Net baseline

Tensors are NCHW float32. Model input: RGB in [0, 1]; the model normalises
with the config's mean/std, pads bottom/right with zeros to a multiple of
its total stride (f for token variants,
2^(levels-1) for the U-Net) and crops the logits back to the input size.

Checkpoint: `<name>.safetensors` (F32 weights and buffers, BN
`num_batches_tracked` left out) next to `<name>.json` (the config).

Usage as a script (benchmark peer for Benchmarks/ModelBench):
  python3 scripts/model_reference.py bench CONFIG.json SIZE REPS
  (SIZE: N for N×N, or WIDTHxHEIGHT)
prints one JSON line: parameters (pre-training decoder excluded), forward
seconds (median of REPS after one warm-up, 2 threads, no_grad), peak RSS
bytes and the RSS peak before the model was built.
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

ATTENTION_EPS = 1e-6

DEFAULT_CONFIG = {
    "variant": "holohisto",
    "patch_size": 16,
    "encoder_widths": [32, 64, 128, 128],
    "encoder_blocks": 2,
    "token_dim": 64,
    "codebook_size": 1024,
    "stage_dims": [128, 192],
    "stage_depths": [2, 2],
    "head_dim": 16,
    "expand_ratio": 4,
    "scales": [5],
    "attention_window": 16,
    "decoder_dim": 64,
    "skip_channels": 16,
    "classes": 2,
    "unet_widths": [16, 32, 64, 128, 256],
    "commitment_weight": 0.25,
    "ema_decay": 0.99,
    "dead_code_threshold": 0.1,
    "input_mpp": 0.5,
    "input_level": 0,
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
}


def full_config(partial):
    cfg = dict(DEFAULT_CONFIG)
    cfg.update(partial)
    return cfg


class ConvBN(nn.Module):
    """Conv (no bias) -> BatchNorm -> optional activation."""

    def __init__(self, cin, cout, k, stride=1, groups=1, act=None):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups,
                              bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act

    def forward(self, x):
        x = self.bn(self.conv(x))
        if self.act == "relu":
            x = F.relu(x)
        elif self.act == "hardswish":
            x = F.hardswish(x)
        return x


class ResidualDW(nn.Module):
    """x + pw(dw(x)): a cheap encoder block."""

    def __init__(self, c):
        super().__init__()
        self.dw = ConvBN(c, c, 3, groups=c, act="relu")
        self.pw = ConvBN(c, c, 1)

    def forward(self, x):
        return F.relu(x + self.pw(self.dw(x)))


class TokenEncoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        widths = cfg["encoder_widths"]
        chans = [3] + widths
        self.down = nn.ModuleList(
            ConvBN(chans[i], chans[i + 1], 3, 2, act="relu")
            for i in range(len(widths)))
        self.blocks = nn.ModuleList(
            ResidualDW(widths[-1]) for _ in range(cfg["encoder_blocks"]))
        self.out = nn.Conv2d(widths[-1], cfg["token_dim"], 1)

    def forward(self, x):
        for m in self.down:
            x = m(x)
        for m in self.blocks:
            x = m(x)
        return self.out(x)


class VectorQuantizer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        k, d = cfg["codebook_size"], cfg["token_dim"]
        self.codebook = nn.Parameter(torch.empty(k, d).uniform_(-1 / k, 1 / k))
        self.register_buffer("ema_count", torch.ones(k))
        self.register_buffer("ema_sum", self.codebook.detach().clone())

    def forward(self, z):
        n, d, h, w = z.shape
        flat = z.permute(0, 2, 3, 1).reshape(-1, d)
        # ||x||^2 does not change the argmin; ||c||^2 - 2 x.c as in Swift.
        cb = self.codebook
        dist = (cb * cb).sum(1)[None] - 2 * flat @ cb.t()
        idx = dist.argmin(1)
        q = self.codebook[idx]
        q = flat + (q - flat).detach()
        return q.reshape(n, h, w, d).permute(0, 3, 1, 2), idx


class TokenDecoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        widths = cfg["encoder_widths"]
        self.inp = ConvBN(cfg["token_dim"], widths[-1], 3, act="relu")
        rev = widths[::-1] + [widths[0]]
        self.up = nn.ModuleList(
            ConvBN(rev[i], rev[i + 1], 3, act="relu")
            for i in range(len(widths)))
        self.out = nn.Conv2d(widths[0], 3, 3, padding=1)

    def forward(self, z):
        x = self.inp(z)
        for m in self.up:
            x = m(F.interpolate(x, scale_factor=2, mode="nearest"))
        return self.out(x)


class LinearAttention(nn.Module):
    """Multi-scale ReLU linear attention (EfficientViT's LiteMLA form)."""

    def __init__(self, dim, head_dim, scales):
        super().__init__()
        heads = dim // head_dim
        self.head_dim = head_dim
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=False)
        self.aggreg = nn.ModuleList()
        for s in scales:
            m = nn.Module()
            m.dw = nn.Conv2d(3 * dim, 3 * dim, s, padding=s // 2,
                             groups=3 * dim, bias=False)
            m.pw = nn.Conv2d(3 * dim, 3 * dim, 1, groups=3 * heads,
                             bias=False)
            self.aggreg.append(m)
        self.proj = ConvBN(dim * (1 + len(scales)), dim, 1)

    def forward(self, x):
        n, _, h, w = x.shape
        qkv = self.qkv(x)
        parts = [qkv] + [m.pw(m.dw(qkv)) for m in self.aggreg]
        qkv = torch.cat(parts, 1)
        hd = self.head_dim
        qkv = qkv.reshape(-1, 3 * hd, h * w)
        q, k, v = qkv[:, :hd], qkv[:, hd:2 * hd], qkv[:, 2 * hd:]
        q, k = F.relu(q), F.relu(k)
        kv = v @ k.transpose(1, 2)                     # [B, hd, hd]
        num = kv @ q                                   # [B, hd, T]
        den = k.sum(2, keepdim=True).transpose(1, 2) @ q   # [B, 1, T]
        out = num / (den + ATTENTION_EPS)
        return self.proj(out.reshape(n, -1, h, w))


class SoftmaxAttention(nn.Module):
    """Softmax multi-head self-attention, global or in windows."""

    def __init__(self, dim, head_dim, window):
        super().__init__()
        self.head_dim = head_dim
        self.window = window
        self.qkv = nn.Conv2d(dim, 3 * dim, 1, bias=False)
        self.proj = ConvBN(dim, dim, 1)

    def attend(self, qkv):
        hd = self.head_dim
        n, c, h, w = qkv.shape
        qkv = qkv.reshape(-1, 3 * hd, h * w)
        q, k, v = qkv[:, :hd], qkv[:, hd:2 * hd], qkv[:, 2 * hd:]
        a = (q.transpose(1, 2) @ k) * (hd ** -0.5)
        a = a.softmax(2)
        return (v @ a.transpose(1, 2)).reshape(n, c // 3, h, w)

    def forward(self, x):
        n, c, h, w = x.shape
        qkv = self.qkv(x)
        s = self.window
        if s <= 0 or (h <= s and w <= s):
            return self.proj(self.attend(qkv))
        ph, pw = -h % s, -w % s
        qkv = F.pad(qkv, (0, pw, 0, ph))
        hh, ww = (h + ph) // s, (w + pw) // s
        t = qkv.reshape(n, 3 * c, hh, s, ww, s).permute(0, 2, 4, 1, 3, 5)
        t = t.reshape(n * hh * ww, 3 * c, s, s)
        o = self.attend(t).reshape(n, hh, ww, c, s, s)
        o = o.permute(0, 3, 1, 4, 2, 5).reshape(n, c, hh * s, ww * s)
        return self.proj(o[:, :, :h, :w])


class MBConv(nn.Module):
    def __init__(self, dim, expand):
        super().__init__()
        mid = dim * expand
        self.expand = ConvBN(dim, mid, 1, act="hardswish")
        self.dw = ConvBN(mid, mid, 3, groups=mid, act="hardswish")
        self.project = ConvBN(mid, dim, 1)

    def forward(self, x):
        return self.project(self.dw(self.expand(x)))


class Block(nn.Module):
    def __init__(self, dim, cfg):
        super().__init__()
        if cfg["variant"] == "softmax":
            self.attn = SoftmaxAttention(dim, cfg["head_dim"],
                                         cfg["attention_window"])
        else:
            self.attn = LinearAttention(dim, cfg["head_dim"], cfg["scales"])
        self.ffn = MBConv(dim, cfg["expand_ratio"])

    def forward(self, x):
        x = x + self.attn(x)
        return x + self.ffn(x)


class Backbone(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d1, d2 = cfg["stage_dims"]
        n1, n2 = cfg["stage_depths"]
        self.stem = ConvBN(cfg["token_dim"], d1, 1)
        self.stage1 = nn.ModuleList(Block(d1, cfg) for _ in range(n1))
        self.down = ConvBN(d1, d2, 3, 2, act="hardswish")
        self.stage2 = nn.ModuleList(Block(d2, cfg) for _ in range(n2))

    def forward(self, x):
        x = self.stem(x)
        for b in self.stage1:
            x = b(x)
        s1 = x
        x = self.down(x)
        for b in self.stage2:
            x = b(x)
        return s1, x


class SegmentationHead(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d1, d2 = cfg["stage_dims"]
        dd, sk = cfg["decoder_dim"], cfg["skip_channels"]
        self.lateral1 = ConvBN(d1, dd, 1)
        self.lateral2 = ConvBN(d2, dd, 1)
        self.fuse = ConvBN(dd, dd, 3, act="hardswish")
        self.skip = ConvBN(3, sk, 3, act="relu")
        self.mix = ConvBN(dd + sk, sk, 1, act="hardswish")
        self.classifier = nn.Conv2d(sk, cfg["classes"], 1)

    def forward(self, image, s1, s2):
        h, w = s1.shape[2:]
        up2 = F.interpolate(self.lateral2(s2), size=(h, w), mode="bilinear",
                            align_corners=False)
        f = self.fuse(self.lateral1(s1) + up2)
        f = F.interpolate(f, size=image.shape[2:], mode="bilinear",
                          align_corners=False)
        x = torch.cat([f, self.skip(image)], 1)
        return self.classifier(self.mix(x))


class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.c1 = ConvBN(cin, cout, 3, act="relu")
        self.c2 = ConvBN(cout, cout, 3, act="relu")

    def forward(self, x):
        return self.c2(self.c1(x))


class UNet(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        w = cfg["unet_widths"]
        chans = [3] + w
        self.enc = nn.ModuleList(
            DoubleConv(chans[i], chans[i + 1]) for i in range(len(w)))
        self.dec = nn.ModuleList(
            DoubleConv(w[i + 1] + w[i], w[i])
            for i in reversed(range(len(w) - 1)))
        self.classifier = nn.Conv2d(w[0], cfg["classes"], 1)

    def forward(self, x):
        skips = []
        for i, m in enumerate(self.enc):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = m(x)
            skips.append(x)
        skips.pop()
        for m in self.dec:
            s = skips.pop()
            x = F.interpolate(x, size=s.shape[2:], mode="bilinear",
                              align_corners=False)
            x = m(torch.cat([x, s], 1))
        return self.classifier(x)


class SegmentationModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        v = cfg["variant"]
        if v == "unet":
            self.unet = UNet(cfg)
        else:
            if v in ("holohisto", "softmax"):
                self.encoder = TokenEncoder(cfg)
                self.quantizer = VectorQuantizer(cfg)
                self.decoder = TokenDecoder(cfg)
            elif v == "patch":
                f = cfg["patch_size"]
                self.patch_embed = nn.Conv2d(3, cfg["token_dim"], f, f)
            else:
                raise ValueError(f"unknown variant {v}")
            self.backbone = Backbone(cfg)
            self.head = SegmentationHead(cfg)
        self.register_buffer(
            "mean", torch.tensor(cfg["mean"]).reshape(1, 3, 1, 1),
            persistent=False)
        self.register_buffer(
            "std", torch.tensor(cfg["std"]).reshape(1, 3, 1, 1),
            persistent=False)

    def stride(self):
        if self.cfg["variant"] == "unet":
            return 2 ** (len(self.cfg["unet_widths"]) - 1)
        return self.cfg["patch_size"]

    def tokens(self, x):
        """Normalised, padded image -> (token grid, codebook indices)."""
        if hasattr(self, "patch_embed"):
            return self.patch_embed(x), None
        return self.quantizer(self.encoder(x))

    def forward(self, rgb):
        h, w = rgb.shape[2:]
        x = (rgb - self.mean) / self.std
        s = self.stride()
        x = F.pad(x, (0, -w % s, 0, -h % s))
        if self.cfg["variant"] == "unet":
            logits = self.unet(x)
        else:
            z, _ = self.tokens(x)
            s1, s2 = self.backbone(z)
            logits = self.head(x, s1, s2)
        return logits[:, :, :h, :w]

    def reconstruct(self, rgb):
        """Tokenizer pre-training path: normalised, padded x̂ = G(z_q)."""
        h, w = rgb.shape[2:]
        x = (rgb - self.mean) / self.std
        f = self.cfg["patch_size"]
        x = F.pad(x, (0, -w % f, 0, -h % f))
        z, idx = self.quantizer(self.encoder(x))
        return self.decoder(z), idx


def state_dict_for_export(model):
    return {k: v.detach().float().contiguous()
            for k, v in model.state_dict().items()
            if not k.endswith("num_batches_tracked")}


def load_checkpoint(json_path, weights_path):
    from safetensors.torch import load_file
    with open(json_path) as f:
        cfg = full_config(json.load(f))
    model = SegmentationModel(cfg)
    missing, unexpected = model.load_state_dict(load_file(weights_path),
                                                strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"missing {missing}, unexpected {unexpected}")
    return model.eval()


def parse_size(text):
    """'N' (square) or 'WxH' -> (width, height)."""
    parts = text.lower().split("x")
    return (int(parts[0]), int(parts[-1]))


def bench(config_path, size, reps):
    torch.set_num_threads(2)
    with open(config_path) as f:
        cfg = full_config(json.load(f))
    torch.manual_seed(0)
    model = SegmentationModel(cfg).eval()
    params = sum(p.numel() for name, p in model.named_parameters()
                 if not name.startswith("decoder."))
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    width, height = size
    x = torch.rand(1, 3, height, width)
    times = []
    with torch.no_grad():
        model(x)
        for _ in range(reps):
            t = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - t)
    times.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"parameters": params, "seconds": times[len(times) // 2],
                      "peak_rss_bytes": peak, "base_rss_bytes": base}))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "bench":
        bench(sys.argv[2], parse_size(sys.argv[3]), int(sys.argv[4]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(64)
