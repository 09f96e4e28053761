#!/usr/bin/env python3
"""Two results side by side for the docs: each downsized to half on top,
below a crop of each at full resolution, its place marked above.
  usage: tools/crops.py LEFT RIGHT OUT.jpg [X Y]   (crop's top left in px; default 400 20)
Needs Debian's python3-pil."""
import sys

from PIL import Image, ImageDraw

GAP = 8


def main(argv):
    if len(argv) not in (4, 6):
        sys.exit(__doc__)
    left, right = Image.open(argv[1]).convert("RGB"), Image.open(argv[2]).convert("RGB")
    if left.size != right.size:
        sys.exit(f"crops.py: {argv[1]} is {left.size}, {argv[2]} is {right.size}; give two results of one size")
    x, y = (int(argv[4]), int(argv[5])) if len(argv) == 6 else (400, 20)
    w, h = left.size[0] // 2, left.size[1] // 2
    if x + w > left.size[0] or y + h > left.size[1]:
        sys.exit(f"crops.py: a {w}x{h} crop at {x},{y} does not fit in {left.size[0]}x{left.size[1]}")
    out = Image.new("RGB", (2 * w + GAP, 2 * h + GAP), "white")
    for i, im in enumerate((left, right)):
        ox = i * (w + GAP)
        out.paste(im.resize((w, h), Image.LANCZOS), (ox, 0))
        ImageDraw.Draw(out).rectangle([ox + x // 2, y // 2, ox + (x + w) // 2, (y + h) // 2], outline="white", width=2)
        out.paste(im.crop((x, y, x + w, y + h)), (ox, h + GAP))
    out.save(argv[3], quality=85)


if __name__ == "__main__":
    main(sys.argv)
