#!/usr/bin/env python3
"""PyTorch baseline for the CPU comparison in the README: seconds per L-BFGS
iteration of the same Gatys loss (VGG conv layers with random weights,
content relu4_2, style relu1_1..relu5_1, TV) on a square image. Like clstyle,
the network stops at the deepest layer the loss uses (relu5_1).
    /usr/bin/python3 tools/pytorch_baseline.py 256 [iterations] [16|19]   (Debian: python3-torch)
Run next to `clstyle-bench --arch 19 --square --sizes 256` for a ratio."""
import os
import sys
import time

import torch
import torch.nn.functional as F

size = int(sys.argv[1]) if len(sys.argv) > 1 else 256
iters = int(sys.argv[2]) if len(sys.argv) > 2 else 3
arch = int(sys.argv[3]) if len(sys.argv) > 3 else 16
torch.set_num_threads(os.cpu_count())  # all cores, as clstyle uses them
torch.manual_seed(0)
blocks = [(3, 64, 2), (64, 128, 2), (128, 256, 3), (256, 512, 3), (512, 512, 3)]
if arch == 19:
    blocks = [(3, 64, 2), (64, 128, 2), (128, 256, 4), (256, 512, 4), (512, 512, 4)]
weights = []
for cin, cout, n in blocks:
    for i in range(n):
        c = cin if i == 0 else cout
        weights.append((torch.randn(cout, c, 3, 3) * (2.0 / (9 * c)) ** 0.5, torch.zeros(cout)))


def feats(x):
    out, h, k = {}, x.unsqueeze(0), 0
    for b, (_, _, n) in enumerate(blocks):
        for i in range(n):
            h = F.relu(F.conv2d(h, weights[k][0], weights[k][1], padding=1))
            out[f"relu{b + 1}_{i + 1}"] = h[0]
            k += 1
            if b == 4:
                return out  # relu5_1: the deepest layer the loss uses
        h = F.max_pool2d(h, 2)
    return out


def gram(f):
    c = f.shape[0]
    f = f.reshape(c, -1)
    return f @ f.t() / f.numel()


style_layers = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
with torch.no_grad():
    content, style = torch.rand(3, size, size), torch.rand(3, size, size)
    P = feats(content)["relu4_2"]
    A = {l: gram(v) for l, v in feats(style).items() if l in style_layers}
x = content.clone().requires_grad_(True)
opt = torch.optim.LBFGS([x], lr=1, max_iter=1, history_size=100)


def closure():
    opt.zero_grad()
    f = feats(x)
    lc = ((f["relu4_2"] - P) ** 2).mean() / ((P ** 2).mean() + 1e-8)
    ls = sum(((gram(f[l]) - A[l]) ** 2).mean() / ((A[l] ** 2).mean() + 1e-8) for l in style_layers)
    tv = ((x[:, 1:] - x[:, :-1]) ** 2).mean() + ((x[:, :, 1:] - x[:, :, :-1]) ** 2).mean()
    loss = lc + 10 * ls + 10 * tv
    loss.backward()
    return loss


opt.step(closure)  # warm-up
t = time.time()
for _ in range(iters):
    opt.step(closure)
print(f"pytorch {torch.__version__}, {torch.get_num_threads()} threads: vgg{arch} {size}x{size} "
      f"{(time.time() - t) / iters * 1000:.1f} ms/iter")
