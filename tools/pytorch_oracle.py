#!/usr/bin/python3
"""PyTorch oracle: clstyle's loss (SPEC "Losses") optimized by torch.optim.LBFGS.

The same job as `clstyle -c CONTENT -s STYLE --size N --iterations K --log LOG`
with clstyle's defaults, computed independently with PyTorch autograd, so that
clstyle's optimizer can be compared with torch's on the exact same loss
(docs/defaults.md, "The first L-BFGS step"). tools/pytorch_baseline.py times
a loss like it with random weights; this one is for the values:

- images: PNG/JPEG read with PIL (alpha composited on white, EXIF orientation
  applied), values v/255; resized exactly as src/io/image.c does (area average
  when shrinking, bilinear at pixel centres when enlarging, separable, rows
  first; no resampling when the longer side already has the length); content
  to a longer side of --size, each style to --size * --style-scale;
- network: VGG-16/19 conv part from the safetensors file (--weights, default
  $CLSTYLE_WEIGHTS; F16/F32 read by hand, no safetensors package needed), 3x3
  convs with padding 1, ReLU, 2x2 max (or avg) pooling, input per the file's
  `input` metadata (rgb01_imagenet, rgb255_caffe, bgr255_caffe);
- loss: alpha * L_c + beta * L_s + gamma * L_tv, L_c relative squared error
  over the content layers, L_s over the style layers with Gram matrices
  F F^T / (C M), each relative to mean(A^2) + 1e-8, L_tv the mean squared
  neighbour differences of x itself; defaults as clstyle: relu4_2;
  relu1_1..relu5_1 with weight 1; alpha 1, beta 10, gamma 10; x starts at the
  resized content and is not clamped during the optimization;
- optimizer: torch.optim.LBFGS(lr=1, history_size=100, line_search_fn=None
  or 'strong_wolfe', tolerance_grad=0, tolerance_change=0 so that nothing
  stops early), run as a loop of step() calls with max_iter=1, so one
  iteration is one step(); torch's first step is min(1, 1/|g|_1) * lr, or
  with --start rms (no line search only) clstyle's lr/255 RMS, set in torch's
  state after the first step(), for comparing trajectories with
  `clstyle --line-search none`.

Evaluations are counted as clstyle counts them: the one at the initial image
and every other evaluation of the loss (line-search trials included). A point
torch evaluates again at the start of the next step() (which it does with
strong_wolfe and max_iter=1) is answered from a cache and not counted.

The log (--log) is in clstyle's format, one JSON line per evaluation:
{"iter":K,"loss":...,"content":...,"style":...,"tv":...,"ms":...}, trials that
were not the accepted point of their iteration marked "rejected":true, so
`tools/lbfgs_start.sh table` reads it like clstyle's logs.

Usage (Debian's python3-torch; one thread, as on the shared machine):
  /usr/bin/python3 tools/pytorch_oracle.py -c ../shared/images/tubingen.png \\
      -s ../shared/images/starry_night.png --size 64 --iterations 200 \\
      --log /tmp/ls/pytorch/tubingen_starry_night_64.jsonl [--threads 1]
      [--line-search none|strong_wolfe] [--start l1|rms] [--init content|FILE]
      [--style-weight 10] [--tv-weight 10]
      [--content-weight 1] [--style-scale 1] [--pooling max|avg]
      [--content-layers relu4_2] [--style-layers relu1_1,...] [--double]
      [--weights FILE]
Check against clstyle at the initial image (the loss terms of iteration 0;
--init FILE gives a content term that is not 0):
  build/clstyle -c C -s S -o /tmp/x.png --size 64 --iterations 0 --log /tmp/c.jsonl
  /usr/bin/python3 tools/pytorch_oracle.py -c C -s S --size 64 --iterations 0
and along a trajectory (agree to ~1e-6 for the first iterations, then drift
apart by float rounding at ReLU/max-pool ties as clstyle's own backends do):
  build/clstyle ... --iterations 20 --line-search none --log /tmp/c.jsonl
  /usr/bin/python3 tools/pytorch_oracle.py ... --iterations 20 --start rms --log /tmp/p.jsonl
The summary on stdout is one JSON object: sizes, evaluations, the losses at
0, 50, 200 and the last iteration, the loss terms at 0, seconds.
Results (docs/defaults.md, "The first L-BFGS step"): 64 px runs of 200
iterations took about 1-2 minutes, 256 px ones 8-9 minutes, on one thread.
"""
import argparse
import json
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

EPS = 1e-8


# ---- images -------------------------------------------------------------

def load_image(path):
    im = Image.open(path)
    im = ImageOps.exif_transpose(im)
    if im.mode in ("RGBA", "LA", "P", "PA") or "transparency" in im.info:
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    im = im.convert("RGB")
    a = np.asarray(im, dtype=np.float32) / np.float32(255.0)
    return np.ascontiguousarray(a.transpose(2, 0, 1))  # (3, H, W)


def fit(w, h, longer):
    """cs_image_fit: the longer side becomes `longer`, the other rounded."""
    if w >= h:
        ow, oh = longer, int(np.floor(h * longer / w + 0.5))
    else:
        oh, ow = longer, int(np.floor(w * longer / h + 0.5))
    return max(ow, 1), max(oh, 1)


def kernel(n_in, n_out):
    """The (n_out, n_in) resampling matrix of src/io/image.c's make_kernel."""
    k = np.zeros((n_out, n_in), dtype=np.float32)
    scale = n_in / n_out
    for o in range(n_out):
        if scale > 1:  # area: each source pixel weighted by its overlap with [a, b)
            a, b = o * scale, (o + 1) * scale
            i = int(np.floor(a))
            n = 0
            taps = int(np.ceil(scale)) + 1
            while i < b and i < n_in and n < taps:
                lo, hi = max(i, a), min(i + 1, b)
                k[o, i] = np.float32((hi - lo) / scale)
                i += 1
                n += 1
        else:  # bilinear at pixel centres, edges clamped
            c = max((o + 0.5) * scale - 0.5, 0.0)
            i0 = min(int(np.floor(c)), n_in - 1)
            f = c - i0
            if i0 + 1 < n_in:
                k[o, i0] += np.float32(1 - f)
                k[o, i0 + 1] += np.float32(f)
            else:
                k[o, i0] = 1
    return k


def resize(img, w, h):
    c, ih, iw = img.shape
    if (iw, ih) == (w, h):
        return img.copy()
    kx, ky = kernel(iw, w), kernel(ih, h)
    rows = np.einsum("chw,ow->cho", img, kx)  # rows first, as cs_image_resize
    return np.ascontiguousarray(np.einsum("cho,ph->cpo", rows, ky).astype(np.float32))


# ---- network --------------------------------------------------------------

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    dtypes = {"F16": np.float16, "F32": np.float32, "BF16": None}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dt = dtypes.get(info["dtype"])
        if dt is None:
            continue
        tensors[name] = np.frombuffer(data[a:b], dtype=dt).reshape(info["shape"]).astype(np.float32)
    return header.get("__metadata__") or {}, tensors


def vgg_layout(depth):
    convs = {16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}[depth]
    nodes, torch_i = [], 0
    for b, n in enumerate(convs):
        for i in range(n):
            nodes.append(("conv", f"conv{b + 1}_{i + 1}", torch_i))
            nodes.append(("relu", f"relu{b + 1}_{i + 1}", torch_i + 1))
            torch_i += 2
        if b + 1 < len(convs):
            nodes.append(("pool", f"pool{b + 1}", torch_i))
            torch_i += 1
    return nodes


class Net:
    def __init__(self, path, pooling, dtype):
        meta, t = read_safetensors(path)
        n_conv = sum(1 for k in t if k.startswith("features.") and k.endswith(".weight"))
        depth = 19 if n_conv >= 16 else 16
        self.nodes = vgg_layout(depth)
        self.w, self.b = {}, {}
        for kind, name, ti in self.nodes:
            if kind == "conv":
                self.w[name] = torch.tensor(t[f"features.{ti}.weight"], dtype=dtype)
                self.b[name] = torch.tensor(t[f"features.{ti}.bias"], dtype=dtype)
        inp = meta.get("input", "rgb01_imagenet")
        if inp in ("rgb255_caffe", "bgr255_caffe"):
            scale, offset = [255.0] * 3, [-123.68, -116.779, -103.939]
        elif inp == "rgb01_imagenet":
            mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
            scale, offset = [1 / s for s in std], [-m / s for m, s in zip(mean, std)]
        else:
            sys.exit(f"unknown input convention {inp!r}")
        if inp == "bgr255_caffe":  # conv1_1 takes BGR: reverse its input channels
            self.w["conv1_1"] = self.w["conv1_1"].flip(1).contiguous()
        # as clstyle's float32 in_scale/in_offset
        self.scale = torch.tensor(np.array(scale, dtype=np.float32), dtype=dtype).view(3, 1, 1)
        self.offset = torch.tensor(np.array(offset, dtype=np.float32), dtype=dtype).view(3, 1, 1)
        self.pooling = pooling
        self.depth, self.input = depth, inp

    def features(self, x, wanted):
        """Feature maps (C, H, W) of the layers in `wanted`, evaluated up to the deepest."""
        h = (x * self.scale + self.offset).unsqueeze(0)
        out, left = {}, set(wanted)
        for kind, name, _ in self.nodes:
            if not left:
                break
            if kind == "conv":
                h = F.conv2d(h, self.w[name], self.b[name], padding=1)
            elif kind == "relu":
                h = F.relu(h)
            else:
                h = F.max_pool2d(h, 2, 2) if self.pooling == "max" else F.avg_pool2d(h, 2, 2)
            if name in left:
                out[name] = h[0]
                left.discard(name)
        if left:
            sys.exit(f"unknown layers {sorted(left)} for VGG-{self.depth}")
        return out


def gram(f):
    c = f.shape[0]
    m = f.shape[1] * f.shape[2]
    f = f.reshape(c, m)
    return f @ f.t() / (c * m)


# ---- loss -----------------------------------------------------------------

class Loss:
    def __init__(self, net, content, styles, args):
        self.net = net
        self.cl, self.sl = args.content_layers, args.style_layers
        self.sw = args.style_layer_weights or [1.0] * len(self.sl)
        self.alpha, self.beta, self.gamma = args.content_weight, args.style_weight, args.tv_weight
        with torch.no_grad():
            fc = net.features(content, self.cl)
            self.fc = {l: fc[l].detach() for l in self.cl}
            self.cnorm = {l: float((fc[l].double() ** 2).mean()) + EPS for l in self.cl}
            blend = [1.0 / len(styles)] * len(styles)
            self.A = {l: 0 for l in self.sl}
            for b, s in zip(blend, styles):
                fs = net.features(s, self.sl)
                for l in self.sl:
                    self.A[l] = self.A[l] + b * gram(fs[l])
            self.snorm = {l: float((self.A[l].double() ** 2).mean()) + EPS for l in self.sl}

    def __call__(self, x):
        f = self.net.features(x, list(dict.fromkeys(self.cl + self.sl)))
        lc = sum(((f[l] - self.fc[l]) ** 2).mean() / self.cnorm[l] for l in self.cl)
        ls = sum(w * ((gram(f[l]) - self.A[l]) ** 2).mean() / self.snorm[l] for l, w in zip(self.sl, self.sw))
        ltv = ((x[:, 1:, :] - x[:, :-1, :]) ** 2).mean() + ((x[:, :, 1:] - x[:, :, :-1]) ** 2).mean()
        total = self.alpha * lc + self.beta * ls + self.gamma * ltv
        return total, float(lc), float(ls), float(ltv)


# ---- driver ---------------------------------------------------------------

def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("-c", "--content", required=True)
    p.add_argument("-s", "--style", required=True, help="STYLE[,STYLE...] (equal blend)")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--style-scale", type=float, default=1.0)
    p.add_argument("--iterations", type=int, default=500)
    p.add_argument("--content-weight", type=float, default=1.0)
    p.add_argument("--style-weight", type=float, default=10.0)
    p.add_argument("--tv-weight", type=float, default=10.0)
    p.add_argument("--content-layers", default="relu4_2")
    p.add_argument("--style-layers", default="relu1_1,relu2_1,relu3_1,relu4_1,relu5_1")
    p.add_argument("--style-layer-weights", default=None, help="W,W,... (1 each)")
    p.add_argument("--pooling", choices=("max", "avg"), default="max")
    p.add_argument("--line-search", choices=("none", "strong_wolfe"), default="none")
    p.add_argument("--start", choices=("l1", "rms"), default="l1",
                   help="first step: torch's min(1, 1/|g|_1) lr, or clstyle's lr/255 RMS (with --line-search none)")
    p.add_argument("--init", default="content", help="content, or an image FILE resized to the content's size")
    p.add_argument("--history", type=int, default=100)
    p.add_argument("--lr", type=float, default=1.0)
    p.add_argument("--weights", default=os.environ.get("CLSTYLE_WEIGHTS"))
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--double", action="store_true", help="float64 throughout (float32 as clstyle by default)")
    p.add_argument("--log", help="JSON Lines in clstyle's format")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args()
    if not args.weights:
        sys.exit("no weights: --weights FILE or $CLSTYLE_WEIGHTS")
    args.content_layers = args.content_layers.split(",")
    args.style_layers = args.style_layers.split(",")
    if args.style_layer_weights:
        args.style_layer_weights = [float(v) for v in args.style_layer_weights.split(",")]
    torch.set_num_threads(args.threads)
    dtype = torch.float64 if args.double else torch.float32

    t0 = time.time()
    content = load_image(args.content)
    cw, ch = fit(content.shape[2], content.shape[1], args.size)
    content = resize(content, cw, ch)
    ssize = max(16, int(np.floor(args.size * args.style_scale + 0.5)))
    styles = []
    for sp in args.style.split(","):
        s = load_image(sp)
        sw, sh = fit(s.shape[2], s.shape[1], ssize)
        styles.append(torch.tensor(resize(s, sw, sh), dtype=dtype))
    net = Net(args.weights, args.pooling, dtype)
    content_t = torch.tensor(content, dtype=dtype)
    loss_fn = Loss(net, content_t, styles, args)
    if args.init == "content":
        x = content_t.clone()
    else:
        x = torch.tensor(resize(load_image(args.init), cw, ch), dtype=dtype)
    x.requires_grad_(True)
    if args.start == "rms" and args.line_search != "none":
        sys.exit("--start rms needs --line-search none")
    setup_s = time.time() - t0

    log = open(args.log, "w") if args.log else None
    if log:
        log.write(json.dumps({"event": "start", "program": "pytorch_oracle", "torch": torch.__version__,
                              "threads": args.threads, "dtype": str(dtype), "arch": f"vgg{net.depth}",
                              "input": net.input, "width": cw, "height": ch,
                              "style_width": styles[0].shape[2], "style_height": styles[0].shape[1],
                              "line_search": args.line_search, "history": args.history, "lr": args.lr,
                              "iterations": args.iterations}, separators=(",", ":")) + "\n")

    evals = []   # this step's evaluations: (x copy, loss, grad, record)
    cache = []   # the last step's, for torch's re-evaluation of the accepted point
    counted = [0]

    def closure():
        with torch.no_grad():
            for xc, lv, g, rec in cache:
                if torch.equal(xc, x):
                    x.grad = g.clone()
                    return torch.tensor(lv, dtype=dtype)
        t = time.time()
        x.grad = None
        total, lc, ls, ltv = loss_fn(x)
        total.backward()
        rec = {"loss": float(total), "content": lc, "style": ls, "tv": ltv, "ms": (time.time() - t) * 1e3}
        evals.append((x.detach().clone(), float(total), x.grad.detach().clone(), rec))
        counted[0] += 1
        return total.detach()

    def write(it, rec, rejected=False):
        if log:
            line = '{"iter":%d,"loss":%.9g,"content":%.9g,"style":%.9g,"tv":%.9g,"ms":%.3f' % (
                it, rec["loss"], rec["content"], rec["style"], rec["tv"], rec["ms"])
            log.write(line + (',"trial":true,"rejected":true}' if rejected else "}") + "\n")

    losses = {}
    t0 = time.time()
    closure()  # iteration 0
    rec0 = evals[0][3]
    write(0, rec0)
    losses[0] = evals[0][1]
    if args.iterations > 0:
        opt = torch.optim.LBFGS([x], lr=args.lr, max_iter=1, max_eval=10**9, history_size=args.history,
                                tolerance_grad=0.0, tolerance_change=0.0,
                                line_search_fn=None if args.line_search == "none" else "strong_wolfe")
        cache = evals
        for it in range(1, args.iterations + 1):
            evals = []
            if it == 1:
                x0 = x.detach().clone()
            opt.step(closure)
            if it == 1 and args.start == "rms":
                # clstyle's first step (src/optim/optim.c, start_step): d = -g,
                # t = lr / 255 * sqrt(n / |d|^2), x = x0 + t d as torch's _add_grad
                st = opt.state[x]
                d = st["d"]
                t = args.lr / 255.0 * (x.numel() / float(d.double().dot(d.double()))) ** 0.5
                with torch.no_grad():
                    x.copy_(x0)
                    x.add_(d.view_as(x), alpha=t)
                st["t"] = t
            if args.line_search == "none":
                # x moved after the step's one evaluation: evaluate where it went
                # (the next step() starts with exactly this, answered from the cache)
                closure()
            with torch.no_grad():
                hit = [i for i, e in enumerate(evals) if torch.equal(e[0], x)]
            if not hit:  # torch stopped without moving (no descent direction)
                print(f"stopped at iteration {it}: x did not move", file=sys.stderr)
                break
            acc = hit[-1]
            for i, e in enumerate(evals):
                if i != acc:
                    write(it, e[3], rejected=True)
            write(it, evals[acc][3])
            losses[it] = evals[acc][1]
            cache = evals
            if not args.quiet and (it % 10 == 0 or it == args.iterations):
                print(f"iter {it} loss {losses[it]:.6f} evaluations {counted[0]} "
                      f"{time.time() - t0:.1f} s", file=sys.stderr)
    run_s = time.time() - t0
    if log:
        log.write(json.dumps({"event": "end", "iter": max(losses), "loss": losses[max(losses)],
                              "evaluations": counted[0], "setup_s": round(setup_s, 3),
                              "run_s": round(run_s, 3)}, separators=(",", ":")) + "\n")
        log.close()
    summary = {"size": [cw, ch], "style_size": list(styles[0].shape[1:][::-1]), "evaluations": counted[0],
               "setup_s": round(setup_s, 2), "run_s": round(run_s, 2)}
    for k in (0, 50, 200, args.iterations):
        if k in losses:
            summary[f"loss_{k}"] = losses[k]
    summary.update(content_0=rec0["content"], style_0=rec0["style"], tv_0=rec0["tv"])
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
