#!/usr/bin/python3
"""Writes the image-decoding parity corpus used by tests/image/decode_test.cpp.

Every file is an encoded image (JPEG, PNG, BMP, PNM) written by Pillow or, for variants Pillow
cannot write (16-bit RGB PNG, Adam7, bit-field BMPs, top-down BMPs, odd maxvals, ...), by the
small hand-made encoders below. For each file the script also stores what transformers' load
path gives: ImageOps.exif_transpose(Image.open(f)).convert("RGB"). Output layout under --out:

  files/<name>.<ext>   the encoded image
  refs/<name>.rgb      Pillow's RGB pixels, row-major, no header
  manifest.json        {"pillow": version, "images": [{"name", "file", "ref", "width",
                        "height", "format"}]}

Run: make_decode_corpus.py --out DIR
"""

from __future__ import annotations

import argparse
import warnings
import io
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, ImageOps


def pattern(w: int, h: int, channels: int, seed: int, maxval: int = 255) -> np.ndarray:
    """Smooth gradients plus noise: natural enough for JPEG, varied enough to catch mix-ups."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    planes = []
    for c in range(channels):
        base = (x * (c + 1) * 37 + y * (3 - c % 3) * 23) % (maxval + 1)
        planes.append(base)
    img = np.stack(planes, axis=-1).astype(np.float64)
    img = 0.7 * img + 0.3 * rng.integers(0, maxval + 1, size=img.shape)
    return np.clip(np.round(img), 0, maxval).astype(np.uint16 if maxval > 255 else np.uint8)


# ------------------------------------------------------------------------------------ PNG writer
def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def _pack_rows(samples: np.ndarray, bit_depth: int) -> list[bytes]:
    """samples: (h, w, c) integer array; returns packed scanlines without filter bytes."""
    rows = []
    for row in samples:
        flat = row.reshape(-1)
        if bit_depth == 16:
            rows.append(flat.astype(">u2").tobytes())
        elif bit_depth == 8:
            rows.append(flat.astype(np.uint8).tobytes())
        else:
            per_byte = 8 // bit_depth
            out = bytearray((len(flat) + per_byte - 1) // per_byte)
            for i, v in enumerate(flat):
                out[i // per_byte] |= int(v) << (8 - bit_depth * (i % per_byte + 1))
            rows.append(bytes(out))
    return rows


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def png_bytes(samples: np.ndarray, bit_depth: int, color_type: int, interlace: bool = False,
              extra: list[tuple[bytes, bytes]] | None = None) -> bytes:
    h, w = samples.shape[:2]
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for i, row in enumerate(_pack_rows(sub, bit_depth)):
            raw += bytes([0]) + row
    head = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", head)
    for tag, data in extra or []:
        out += _chunk(tag, data)
    return out + _chunk(b"IDAT", zlib.compress(bytes(raw))) + _chunk(b"IEND", b"")


# ------------------------------------------------------------------------------------ BMP writer
def bmp_bytes(w: int, h: int, bits: int, pixel_rows: list[bytes], *, palette: bytes = b"",
              colors: int = 0, compression: int = 0, masks: tuple[int, ...] = (),
              header_size: int = 40, top_down: bool = False) -> bytes:
    """pixel_rows: the file's rows in image order (top first), unpadded."""
    stride = ((w * bits + 31) >> 3) & ~3
    rows = [r.ljust(stride, b"\0") for r in pixel_rows]
    if not top_down:
        rows = rows[::-1]
    if header_size == 12:
        info = struct.pack("<IHHHH", 12, w, h, 1, bits)
    else:
        info = struct.pack("<IiiHHIIiiII", header_size, w, -h if top_down else h, 1, bits,
                           compression, stride * h, 2835, 2835, colors, 0)
        if header_size > 40:
            m = list(masks) + [0] * (4 - len(masks))
            info += struct.pack("<IIII", *m[:4])
            info = info.ljust(header_size, b"\0")
        elif masks:
            info += struct.pack("<III", *masks[:3])
    offset = 14 + len(info) + len(palette)
    data = b"".join(rows)
    return b"BM" + struct.pack("<IHHI", offset + len(data), 0, 0, offset) + info + palette + data


# --------------------------------------------------------------------------------------- helpers
def exif_with_orientation(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="output folder (created)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # Pillow warns about the deliberately broken EXIF
    (args.out / "files").mkdir(parents=True, exist_ok=True)
    (args.out / "refs").mkdir(parents=True, exist_ok=True)
    images = []

    def add(name: str, ext: str, data: bytes) -> None:
        path = args.out / "files" / f"{name}.{ext}"
        path.write_bytes(data)
        with Image.open(path) as im:
            ref = ImageOps.exif_transpose(im).convert("RGB")
        (args.out / "refs" / f"{name}.rgb").write_bytes(ref.tobytes())
        images.append({"name": name, "file": f"files/{name}.{ext}", "ref": f"refs/{name}.rgb",
                       "width": ref.width, "height": ref.height, "format": ext})

    def pil(name: str, ext: str, im: Image.Image, **kw) -> None:
        buf = io.BytesIO()
        im.save(buf, format={"jpg": "JPEG", "png": "PNG", "bmp": "BMP", "pnm": "PPM"}[ext], **kw)
        add(name, ext, buf.getvalue())

    rgb = lambda w, h, seed: Image.fromarray(pattern(w, h, 3, seed), "RGB")  # noqa: E731

    # ---- JPEG: subsampling, odd sizes, progressive, gray, CMYK, EXIF orientations, one large.
    for sub, tag in ((0, "444"), (1, "422"), (2, "420")):
        for w, h in ((64, 48), (17, 3), (1, 1), (33, 17)):
            pil(f"jpeg_{tag}_{w}x{h}", "jpg", rgb(w, h, w * h), quality=90, subsampling=sub)
    pil("jpeg_progressive_420", "jpg", rgb(71, 45, 1), quality=85, progressive=True)
    pil("jpeg_progressive_444", "jpg", rgb(40, 41, 2), quality=95, progressive=True, subsampling=0)
    pil("jpeg_optimized_q50", "jpg", rgb(50, 30, 3), quality=50, optimize=True)
    pil("jpeg_gray", "jpg", Image.fromarray(pattern(45, 29, 1, 4)[:, :, 0], "L"), quality=90)
    pil("jpeg_cmyk", "jpg", Image.fromarray(pattern(30, 20, 4, 5), "CMYK"), quality=90)
    for orientation in range(1, 9):
        pil(f"jpeg_exif_orientation_{orientation}", "jpg", rgb(37, 23, 6), quality=90,
            exif=exif_with_orientation(orientation))
    # An IFD0 offset past the end: Pillow ignores the broken EXIF and does not rotate.
    bad = bytearray(exif_with_orientation(6))
    bad[10:14] = struct.pack("<I", 0x7FFFFFF0)
    pil("jpeg_exif_bad_offset", "jpg", rgb(20, 10, 7), quality=90, exif=bytes(bad))
    pil("jpeg_large_3000x2000", "jpg", rgb(3000, 2000, 8), quality=85)

    # ---- PNG written by Pillow.
    pil("png_rgb8", "png", rgb(31, 17, 10))
    pil("png_rgba8", "png", Image.fromarray(pattern(23, 19, 4, 11), "RGBA"))
    pil("png_gray8", "png", Image.fromarray(pattern(19, 7, 1, 12)[:, :, 0], "L"))
    pil("png_graya8", "png", Image.fromarray(pattern(9, 13, 2, 13), "LA"))
    pil("png_bilevel", "png", Image.fromarray(pattern(21, 5, 1, 14)[:, :, 0], "L").convert("1"))
    pil("png_palette8", "png", rgb(40, 30, 15).quantize(200))
    pil("png_palette4", "png", rgb(13, 11, 16).quantize(16))
    pil("png_palette2", "png", rgb(13, 11, 17).quantize(4))
    pil("png_palette1", "png", rgb(13, 11, 18).quantize(2))
    pal = rgb(16, 16, 19).quantize(64)
    pil("png_palette_trns", "png", pal, transparency=bytes(range(0, 256, 4)))
    pil("png_rgb8_exif_orientation_6", "png", rgb(12, 5, 20), exif=exif_with_orientation(6))
    pil("png_1x1", "png", rgb(1, 1, 21))

    # ---- PNG written by hand: 16-bit, low bit depths, tRNS, gAMA, Adam7, short palettes.
    g16 = pattern(29, 11, 1, 22, maxval=65535)
    g16[0, :8, 0] = [0, 1, 254, 255, 256, 257, 65280, 65535]
    add("png_gray16", "png", png_bytes(g16, 16, 0))
    add("png_gray16_low", "png", png_bytes(pattern(29, 11, 1, 23, maxval=400), 16, 0))
    add("png_graya16", "png", png_bytes(pattern(7, 9, 2, 24, maxval=65535), 16, 4))
    add("png_rgb16", "png", png_bytes(pattern(15, 13, 3, 25, maxval=65535), 16, 2))
    add("png_rgba16", "png", png_bytes(pattern(15, 13, 4, 26, maxval=65535), 16, 6))
    add("png_gray2", "png", png_bytes(pattern(17, 5, 1, 27, maxval=3), 2, 0))
    add("png_gray4", "png", png_bytes(pattern(17, 5, 1, 28, maxval=15), 4, 0))
    add("png_gray8_trns", "png", png_bytes(pattern(8, 8, 1, 29), 8, 0, extra=[(b"tRNS", b"\0\x10")]))
    add("png_rgb8_trns_gama", "png", png_bytes(pattern(8, 8, 3, 30), 8, 2, extra=[
        (b"gAMA", struct.pack(">I", 100000)), (b"tRNS", struct.pack(">HHH", 1, 2, 3))]))
    for name, samples, depth, ctype in (
            ("rgb8", pattern(37, 29, 3, 31), 8, 2),
            ("rgba16", pattern(11, 10, 4, 32, maxval=65535), 16, 6),
            ("gray16", pattern(19, 9, 1, 33, maxval=65535), 16, 0),
            ("gray1", pattern(9, 9, 1, 34, maxval=1), 1, 0),
            ("palette4", pattern(13, 6, 1, 35, maxval=15), 4, 3)):
        extra = [(b"PLTE", pattern(16, 1, 3, 36).tobytes())] if ctype == 3 else None
        add(f"png_adam7_{name}", "png", png_bytes(samples, depth, ctype, True, extra))
    add("png_adam7_1x1", "png", png_bytes(pattern(1, 1, 3, 37), 8, 2, True))
    add("png_adam7_3x2", "png", png_bytes(pattern(3, 2, 3, 38), 8, 2, True))
    # Indices past a 3-entry PLTE take Pillow's default palette entry (i, i, i).
    idx = (np.arange(16 * 16, dtype=np.uint8).reshape(16, 16, 1))
    add("png_palette_short", "png", png_bytes(idx, 8, 3, extra=[(b"PLTE", bytes(range(9)))]))

    # ---- BMP written by Pillow.
    pil("bmp_rgb24", "bmp", rgb(31, 17, 40))
    pil("bmp_gray8", "bmp", Image.fromarray(pattern(13, 9, 1, 41)[:, :, 0], "L"))
    pil("bmp_palette8", "bmp", rgb(19, 11, 42).quantize(100))
    pil("bmp_bilevel", "bmp", Image.fromarray(pattern(21, 5, 1, 43)[:, :, 0], "L").convert("1"))

    # ---- BMP written by hand.
    w, h = 13, 7
    px = pattern(w, h, 3, 44)
    bgr_rows = [px[y, :, ::-1].tobytes() for y in range(h)]
    add("bmp_rgb24_top_down", "bmp", bmp_bytes(w, h, 24, bgr_rows, top_down=True))
    bgrx = [b"".join(px[y, x, ::-1].tobytes() + b"\x7f" for x in range(w)) for y in range(h)]
    add("bmp_rgb32_bi_rgb", "bmp", bmp_bytes(w, h, 32, bgrx))
    add("bmp_rgb32_bitfields_bgra_v4", "bmp", bmp_bytes(
        w, h, 32, bgrx, compression=3, masks=(0xFF0000, 0xFF00, 0xFF, 0xFF000000), header_size=108))
    add("bmp_rgb32_bitfields_bgrx_v3", "bmp", bmp_bytes(
        w, h, 32, bgrx, compression=3, masks=(0xFF0000, 0xFF00, 0xFF)))
    xbgr = [b"".join(b"\x11" + px[y, x, ::-1].tobytes() for x in range(w)) for y in range(h)]
    add("bmp_rgb32_bitfields_xbgr_v5", "bmp", bmp_bytes(
        w, h, 32, xbgr, compression=3, masks=(0xFF000000, 0xFF0000, 0xFF00, 0), header_size=124))
    rgba = [b"".join(px[y, x].tobytes() + b"\x80" for x in range(w)) for y in range(h)]
    add("bmp_rgb32_bitfields_rgba_v5", "bmp", bmp_bytes(
        w, h, 32, rgba, compression=3, masks=(0xFF, 0xFF00, 0xFF0000, 0xFF000000),
        header_size=124, top_down=True))
    p16 = pattern(w, h, 1, 45, maxval=65535)[:, :, 0]
    rows16 = [p16[y].astype("<u2").tobytes() for y in range(h)]
    add("bmp_rgb16_555_bi_rgb", "bmp", bmp_bytes(w, h, 16, rows16))
    add("bmp_rgb16_555_bitfields", "bmp", bmp_bytes(
        w, h, 16, rows16, compression=3, masks=(0x7C00, 0x3E0, 0x1F)))
    add("bmp_rgb16_565_bitfields", "bmp", bmp_bytes(
        w, h, 16, rows16, compression=3, masks=(0xF800, 0x7E0, 0x1F), top_down=True))
    pal16 = b"".join(bytes([b, g, r, 0]) for r, g, b in pattern(16, 1, 3, 46)[0])
    i4 = pattern(w, h, 1, 47, maxval=15)[:, :, 0]
    rows4 = [bytes((int(i4[y, x]) << 4) | (int(i4[y, x + 1]) if x + 1 < w else 0)
                   for x in range(0, w, 2)) for y in range(h)]
    add("bmp_palette4", "bmp", bmp_bytes(w, h, 4, rows4, palette=pal16, colors=16))
    pal2 = bytes([10, 20, 30, 0, 200, 150, 100, 0])
    i1 = pattern(w, h, 1, 48, maxval=1)[:, :, 0]
    rows1 = [np.packbits(i1[y]).tobytes() for y in range(h)]
    add("bmp_palette1_colour", "bmp", bmp_bytes(w, h, 1, rows1, palette=pal2, colors=2))
    pal3 = bytes([1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0])
    i8 = pattern(w, h, 1, 49)[:, :, 0]
    add("bmp_palette8_short", "bmp", bmp_bytes(
        w, h, 8, [i8[y].tobytes() for y in range(h)], palette=pal3, colors=3))
    pal_os2 = b"".join(bytes([b, g, r]) for r, g, b in pattern(256, 1, 3, 50)[0])
    add("bmp_os2_palette8", "bmp", bmp_bytes(
        w, h, 8, [i8[y].tobytes() for y in range(h)], palette=pal_os2, header_size=12))
    add("bmp_1x1", "bmp", bmp_bytes(1, 1, 24, [b"\x01\x02\x03"]))

    # ---- PNM written by Pillow.
    pil("pnm_p6", "pnm", rgb(17, 9, 60))
    pil("pnm_p5", "pnm", Image.fromarray(pattern(17, 9, 1, 61)[:, :, 0], "L"))
    pil("pnm_p4", "pnm", Image.fromarray(pattern(61, 23, 1, 62)[:, :, 0], "L").convert("1"))
    pil("pnm_p5_16bit", "pnm", Image.fromarray(pattern(17, 9, 1, 63, maxval=300)[:, :, 0]
                                               .astype(np.int32), "I"))
    # ---- PNM written by hand: odd maxvals, 16-bit, plain formats, comments.
    def pnm(magic: str, w: int, h: int, maxval: int | None, body: bytes) -> bytes:
        head = f"{magic}\n# a comment\n{w} {h}\n" + (f"{maxval}\n" if maxval else "")
        return head.encode() + body

    add("pnm_p5_maxval100", "pnm", pnm("P5", 11, 7, 100, pattern(11, 7, 1, 64, 100).tobytes()))
    add("pnm_p6_maxval15", "pnm", pnm("P6", 11, 7, 15, pattern(11, 7, 3, 65, 15).tobytes()))
    add("pnm_p6_maxval1000", "pnm", pnm(
        "P6", 11, 7, 1000, pattern(11, 7, 3, 66, 1000).astype(">u2").tobytes()))
    add("pnm_p6_maxval65535", "pnm", pnm(
        "P6", 11, 7, 65535, pattern(11, 7, 3, 67, 65535).astype(">u2").tobytes()))
    add("pnm_p5_maxval65535", "pnm", pnm(
        "P5", 11, 7, 65535, pattern(11, 7, 1, 68, 65535).astype(">u2").tobytes()))
    add("pnm_p5_maxval1000", "pnm", pnm(
        "P5", 11, 7, 1000, pattern(11, 7, 1, 69, 1000).astype(">u2").tobytes()))
    add("pnm_p5_maxval2_ties", "pnm", pnm("P5", 3, 1, 2, bytes([0, 1, 2])))
    plain = " ".join(str(v) for v in pattern(5, 4, 3, 70, 200).reshape(-1))
    add("pnm_p3_plain", "pnm", pnm("P3", 5, 4, 200, (plain + "\n").encode()))
    plain = "\n".join(str(v) for v in pattern(5, 4, 1, 71, 999).reshape(-1))
    add("pnm_p2_plain_maxval999", "pnm", pnm("P2", 5, 4, 999, (plain + " # tail\n").encode()))
    add("pnm_p1_plain", "pnm", b"P1\n4 3\n1 0 1 0\n0101 # c\n1\n1 0 0\n")

    manifest = {"pillow": PIL.__version__, "images": images}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
