#!/usr/bin/env python3
"""Writes Tests/ModelTests/Fixtures from scripts/model_reference.py.

  python3 scripts/make_model_fixtures.py [DATA_ROOT]

DATA_ROOT defaults to ../shared/data beside the repository. Output (all small, tiny widths):
  crop.safetensors        image U8 [1,3,128,128] (RGB) and mask U8
                          [1,1,128,128] (1 = glomerulus) from HuBMAP test
                          tile 163 (PAS), cut at a glomerulus
  <variant>.json          model config
  <variant>.safetensors   weights (random, BN statistics randomised)
  <variant>.expected.safetensors
                          logits (F32) for the crop and for its top-left
                          100x75 sub-crop (H x W); backbone stage outputs
                          for the crop (token variants); training-mode loss
                          and gradients of a few parameters (holohisto,
                          softmax, unet); for holohisto the
                          codebook indices (I64) and the reconstruction
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import model_reference as ref  # noqa: E402

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
TILE = "labeled/hubmap-glomeruli-cnsiu/images/test/163.jpg"
MASK = "labeled/hubmap-glomeruli-cnsiu/masks/test/163.png"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                   "Tests", "ModelTests", "Fixtures")
SIZE = 128
SUB = (100, 75)

TINY = {
    "encoder_widths": [4, 8, 8, 16],
    "encoder_blocks": 1,
    "token_dim": 8,
    "codebook_size": 16,
    "stage_dims": [16, 24],
    "stage_depths": [1, 1],
    "head_dim": 8,
    "expand_ratio": 2,
    "scales": [5],
    "decoder_dim": 8,
    "skip_channels": 4,
    "classes": 2,
    "unet_widths": [4, 8, 16, 32],
}
VARIANTS = {
    "holohisto": {},
    "patch": {},
    "softmax": {"attention_window": 4},
    "unet": {},
}


# Parameters whose gradients are stored (training-mode BN, one step).
GRADIENT_VARIANTS = ("holohisto", "softmax", "unet")
GRADIENT_NAMES = (
    "encoder.down.0.conv.weight",
    "encoder.blocks.0.dw.conv.weight",
    "backbone.stem.conv.weight",
    "backbone.stage1.0.attn.qkv.weight",
    "backbone.stage1.0.attn.aggreg.0.dw.weight",
    "backbone.stage1.0.attn.aggreg.0.pw.weight",
    "backbone.stage2.0.attn.qkv.weight",
    "backbone.stage2.0.ffn.dw.conv.weight",
    "head.mix.conv.weight",
    "head.skip.bn.weight",
    "head.classifier.bias",
    "unet.enc.0.c1.conv.weight",
    "unet.dec.2.c2.bn.bias",
    "unet.classifier.weight",
)


def segmentation_loss(logits, labels, commitment):
    """Cross-entropy + soft Dice (eps 1, all classes) + commitment, as
    Model.SegmentationLoss."""
    ce = torch.nn.functional.cross_entropy(logits, labels)
    p = logits.softmax(1)
    t = torch.nn.functional.one_hot(labels, logits.shape[1])
    t = t.permute(0, 3, 1, 2).float()
    dims = (0, 2, 3)
    dice = (2 * (p * t).sum(dims) + 1) / (p.sum(dims) + t.sum(dims) + 1)
    return ce + (1 - dice.mean()) + commitment


def training_step(model, rgb, mask_u8):
    """Loss and selected gradients in training mode, on a copy (batch
    norm running statistics of `model` stay as exported)."""
    import copy
    m = copy.deepcopy(model).train()
    labels = mask_u8[:, 0].long()
    h, w = rgb.shape[2:]
    x = (rgb - m.mean) / m.std
    commitment = torch.zeros(())
    if m.cfg["variant"] == "unet":
        logits = m.unet(x)
    else:
        z_e = m.encoder(x)
        z_q, _ = m.quantizer(z_e)
        commitment = m.cfg["commitment_weight"] * (
            (z_e - z_q.detach()) ** 2).mean()
        s1, s2 = m.backbone(z_q)
        logits = m.head(x, s1, s2)
    loss = segmentation_loss(logits[:, :, :h, :w], labels, commitment)
    loss.backward()
    params = dict(m.named_parameters())
    out = {"train_loss": loss.detach().reshape(1)}
    for n in GRADIENT_NAMES:
        if n in params:
            out["grad." + n] = params[n].grad.detach().clone()
    return out


def pick_crop():
    img = np.asarray(Image.open(os.path.join(ROOT, TILE)).convert("RGB"))
    mask = np.asarray(Image.open(os.path.join(ROOT, MASK)))
    if mask.ndim == 3:
        mask = mask[..., 0]
    mask = (mask > 0).astype(np.uint8)
    best = None
    for y in range(0, img.shape[0] - SIZE, 16):
        for x in range(0, img.shape[1] - SIZE, 16):
            frac = mask[y:y + SIZE, x:x + SIZE].mean()
            score = abs(frac - 0.35)
            if best is None or score < best[0]:
                best = (score, y, x)
    _, y, x = best
    return img[y:y + SIZE, x:x + SIZE], mask[y:y + SIZE, x:x + SIZE], (y, x)


def randomise(model, gen):
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.weight.data = torch.rand(n, generator=gen) + 0.5
            m.bias.data = torch.randn(n, generator=gen) * 0.1
            m.running_mean.data = torch.randn(n, generator=gen) * 0.1
            m.running_var.data = torch.rand(n, generator=gen) * 1.5 + 0.5


def code_margin(model, x):
    """Smallest relative gap between best and second-best code distance."""
    with torch.no_grad():
        z = model.encoder(x)
        flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
        d = ((flat[:, None] - model.quantizer.codebook[None]) ** 2).sum(-1)
        two = d.topk(2, largest=False).values
        return ((two[:, 1] - two[:, 0]) / two[:, 1].clamp_min(1e-12)).min()


def main():
    os.makedirs(OUT, exist_ok=True)
    img, mask, origin = pick_crop()
    image_u8 = torch.from_numpy(img.copy()).permute(2, 0, 1)[None]
    mask_u8 = torch.from_numpy(mask.copy())[None, None]
    save_file({"image": image_u8.contiguous(), "mask": mask_u8.contiguous()},
              os.path.join(OUT, "crop.safetensors"),
              metadata={"source": TILE, "origin_yx": f"{origin}"})
    rgb = image_u8.float() / 255
    sub = rgb[:, :, :SUB[0], :SUB[1]].contiguous()
    print(f"crop at {origin}, glomerulus fraction {mask.mean():.3f}")
    for name, extra in VARIANTS.items():
        cfg = ref.full_config({**TINY, "variant": name, **extra})
        for seed in range(100):
            gen = torch.Generator().manual_seed(seed)
            torch.manual_seed(seed)
            model = ref.SegmentationModel(cfg).eval()
            randomise(model, gen)
            if not hasattr(model, "quantizer"):
                break
            # Codebook = encoder outputs of the crop plus noise, so that
            # many codes are in use; retry until no near-tie (> 1e-3).
            with torch.no_grad():
                xs = (rgb - model.mean) / model.std
                z = model.encoder(xs)
                flat = z.permute(0, 2, 3, 1).reshape(-1, z.shape[1])
                pick = torch.randperm(flat.shape[0], generator=gen)
                cb = flat[pick[:cfg["codebook_size"]]]
                cb = cb + 0.05 * cb.std() * torch.randn(cb.shape,
                                                        generator=gen)
                model.quantizer.codebook.data = cb
                model.quantizer.ema_sum.data = cb.clone()
                subx = (sub - model.mean) / model.std
                subx = torch.nn.functional.pad(subx, (0, 5, 0, 12))
            m = min(code_margin(model, xs), code_margin(model, subx))
            if m > 1e-3:
                break
        with torch.no_grad():
            expected = {"logits": model(rgb), "sub_logits": model(sub)}
            if hasattr(model, "backbone"):
                z, _ = model.tokens((rgb - model.mean) / model.std)
                s1, s2 = model.backbone(z)
                expected["stage1"], expected["stage2"] = s1, s2
            if name == "holohisto":
                rec, idx = model.reconstruct(rgb)
                expected["reconstruction"] = rec
                expected["indices"] = idx.to(torch.int64)
                expected["used_codes"] = torch.tensor(
                    [idx.unique().numel()], dtype=torch.int64)
        if name in GRADIENT_VARIANTS:
            expected.update(training_step(model, rgb, mask_u8))
        save_file(ref.state_dict_for_export(model),
                  os.path.join(OUT, f"{name}.safetensors"))
        save_file({k: v.contiguous() for k, v in expected.items()},
                  os.path.join(OUT, f"{name}.expected.safetensors"))
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump({**TINY, "variant": name, **extra}, f, indent=1)
        n = sum(p.numel() for p in model.parameters())
        print(f"{name}: seed {seed}, {n} parameters, logits "
              f"{tuple(expected['logits'].shape)}, "
              f"codes used {expected.get('used_codes', '-')}")


if __name__ == "__main__":
    main()
