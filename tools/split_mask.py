#!/usr/bin/env python3
"""Writes a top/bottom mask as an 8-bit grey PNG (no dependencies): white
above row A, black below row B, a linear ramp between; --invert swaps them.
Used for examples/mask_sky.png and mask_town.png (docs/control.md):

    tools/split_mask.py 512 384 120 180 examples/mask_sky.png
    tools/split_mask.py 512 384 120 180 examples/mask_town.png --invert
"""
import struct
import sys
import zlib


def png(path, w, h, rows):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + bytes(r) for r in rows)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main():
    args = [a for a in sys.argv[1:] if a != "--invert"]
    if len(args) != 5:
        sys.exit(__doc__)
    w, h, a, b = (int(v) for v in args[:4])
    rows = []
    for y in range(h):
        v = 1.0 if y < a else 0.0 if y >= b else (b - y) / (b - a)
        if "--invert" in sys.argv:
            v = 1.0 - v
        rows.append([round(255 * v)] * w)
    png(args[4], w, h, rows)


if __name__ == "__main__":
    main()
