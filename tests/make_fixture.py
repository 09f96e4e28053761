#!/usr/bin/env python3
"""Writes tests/data/gatys_vgg19*.bin: iteration-0 loss terms and the input
gradient of the SPEC losses, computed independently with PyTorch in float64
on the real VGG-19 weights. Run once (Debian: python3-torch, python3-numpy):

    /usr/bin/python3 tests/make_fixture.py ../shared/weights/vgg19-conv.safetensors

Two cases: "default" (SPEC defaults: relu4_2; relu1_1..relu5_1; max pooling;
one style) and "blend" (two styles blended 0.7/0.3, per-layer style weights,
pre-ReLU conv layers as loss layers, average pooling). test_fixture.c sets the
same options per case.

Layout (little-endian): int32 magic 0x43535446, H, W, n_styles, then HS, WS
per style; float32 content (3,H,W), each style (3,HS,WS), x (3,H,W); float64
alpha, beta, gamma, L_c, L_s, L_tv, L; float32 dL/dx (3,H,W)."""
import json, struct, sys
import numpy as np
import torch
import torch.nn.functional as F

H, W = 40, 32
CASES = {
    "default": dict(styles=[(36, 44)], blend=[1.0], alpha=1.0, beta=10.0, gamma=10.0, avg=False,
                    content=["relu4_2"], style={"relu1_1": 1, "relu2_1": 1, "relu3_1": 1, "relu4_1": 1, "relu5_1": 1}),
    "blend": dict(styles=[(36, 44), (50, 38)], blend=[0.7, 0.3], alpha=2.0, beta=50.0, gamma=5.0, avg=True,
                  content=["conv4_2", "relu3_2"], style={"relu1_1": 1, "relu2_1": 0.5, "relu3_1": 2, "conv4_1": 1, "relu5_1": 1}),
}
CONVS = [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]
BLOCKS = [2, 2, 4, 4, 4]
MEAN = torch.tensor([123.68, 116.779, 103.939], dtype=torch.float64).view(3, 1, 1)


def load(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        data = f.read()
    assert hdr["__metadata__"]["input"] == "rgb255_caffe"
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        dt = {"F16": np.float16, "F32": np.float32}[v["dtype"]]
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dt).astype(np.float64).reshape(v["shape"]))
    return out


def features(wts, x, wanted, avg):
    """Returns {layer name: feature map} for a (3,H,W) image in RGB [0,1]."""
    h = (x * 255.0 - MEAN).unsqueeze(0)
    feats, k = {}, 0
    for b, n in enumerate(BLOCKS):
        for i in range(n):
            idx = CONVS[k]
            h = F.conv2d(h, wts[f"features.{idx}.weight"], wts[f"features.{idx}.bias"], padding=1)
            feats[f"conv{b + 1}_{i + 1}"] = h[0]
            h = F.relu(h)
            feats[f"relu{b + 1}_{i + 1}"] = h[0]
            k += 1
        h = F.avg_pool2d(h, 2) if avg else F.max_pool2d(h, 2)
        if all(name in feats for name in wanted):
            break
    return feats


def gram(f):
    c = f.shape[0]
    m = f[0].numel()
    f = f.reshape(c, m)
    return f @ f.T / (c * m)


def smooth_image(rng, h, w):
    """Low-frequency colour field plus some noise: realistic-ish activations."""
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = np.zeros((3, h, w))
    for c in range(3):
        for _ in range(4):
            fy, fx, ph = rng.uniform(0.5, 6, 2).tolist() + [rng.uniform(0, 6.3)]
            img[c] += rng.uniform(0.05, 0.2) * np.sin(2 * np.pi * (fy * yy + fx * xx) + ph)
    img += 0.5 + 0.05 * rng.standard_normal((3, h, w))
    return np.clip(img, 0, 1).astype(np.float32)


def write_case(wts, name, c, rng):
    content = smooth_image(rng, H, W)
    styles = [smooth_image(rng, hs, ws) for hs, ws in c["styles"]]
    x0 = np.clip(content + 0.1 * rng.standard_normal(content.shape), 0, 1).astype(np.float32)
    eps, avg = 1e-8, c["avg"]
    P = features(wts, torch.from_numpy(content).double(), c["content"], avg)
    A = {}
    for s, b in zip(styles, c["blend"]):
        f = features(wts, torch.from_numpy(s).double(), list(c["style"]), avg)
        for l in c["style"]:
            A[l] = A.get(l, 0) + b * gram(f[l])
    x = torch.from_numpy(x0).double().requires_grad_(True)
    Fx = features(wts, x, c["content"] + list(c["style"]), avg)
    lc = sum(((Fx[l] - P[l]) ** 2).mean() / ((P[l] ** 2).mean() + eps) for l in c["content"])
    ls = sum(w * ((gram(Fx[l]) - A[l]) ** 2).mean() / ((A[l] ** 2).mean() + eps) for l, w in c["style"].items())
    ltv = ((x[:, 1:, :] - x[:, :-1, :]) ** 2).mean() + ((x[:, :, 1:] - x[:, :, :-1]) ** 2).mean()
    loss = c["alpha"] * lc + c["beta"] * ls + c["gamma"] * ltv
    loss.backward()
    print(f"{name}: L_c {lc.item():.10g} L_s {ls.item():.10g} L_tv {ltv.item():.10g} L {loss.item():.10g}")
    suffix = "" if name == "default" else "_" + name
    with open(f"tests/data/gatys_vgg19{suffix}.bin", "wb") as f:
        f.write(struct.pack("<4i", 0x43535446, H, W, len(styles)))
        for hs, ws in c["styles"]:
            f.write(struct.pack("<2i", hs, ws))
        for a in [content] + styles + [x0]:
            f.write(a.astype("<f4").tobytes())
        f.write(struct.pack("<7d", c["alpha"], c["beta"], c["gamma"], lc.item(), ls.item(), ltv.item(), loss.item()))
        f.write(x.grad.numpy().astype("<f4").tobytes())


def main():
    wts = load(sys.argv[1])
    rng = np.random.default_rng(1234)
    for name, c in CASES.items():
        write_case(wts, name, c, rng)


if __name__ == "__main__":
    main()
