#!/usr/bin/python3
"""Builds SmolVLM / SmolVLM2 / PaliGemma prompt strings as transformers' processors do
(MODELS.md §5.1, §5.3, §5.4), independently of the C++ code, for parity tests.

Writes OUT/cases.json with lists "images", "expand", "videos", "paligemma" and tables
"num2words", "timedelta", "frame_time". num2words follows the num2words library's English
converter (split into cards, then pairwise merges); timedelta is Python's own str(timedelta).
"""
from __future__ import annotations

import argparse
import json
from datetime import timedelta
from pathlib import Path

FAKE = "<fake_token_around_image>"
GLOBAL = "<global-img>"
IMAGE = "<image>"

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
        "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
CARDS = {10**12: "trillion", 10**9: "billion", 10**6: "million", 10**3: "thousand", 100: "hundred"}


def merge(left: tuple[str, int], right: tuple[str, int]) -> tuple[str, int]:
    ltext, lnum = left
    rtext, rnum = right
    if lnum == 1 and rnum < 100:
        return rtext, rnum
    if 100 > lnum > rnum:
        return f"{ltext}-{rtext}", lnum + rnum
    if lnum >= 100 > rnum:
        return f"{ltext} and {rtext}", lnum + rnum
    if rnum > lnum:
        return f"{ltext} {rtext}", lnum * rnum
    return f"{ltext}, {rtext}", lnum + rnum


def words(n: int) -> tuple[str, int]:
    if n < 20:
        return ONES[n], n
    if n < 100:
        tens = (TENS[n // 10], n // 10 * 10)
        return tens if n % 10 == 0 else merge(tens, (ONES[n % 10], n % 10))
    card = max(c for c in CARDS if c <= n)
    div, mod = divmod(n, card)
    left = merge(words(div), (CARDS[card], card))
    return left if mod == 0 else merge(left, words(mod))


def num2words(n: int) -> str:
    return words(n)[0]


def single_image(n: int) -> str:
    return f"{FAKE}{GLOBAL}" + IMAGE * n + FAKE


def split_image(n: int, rows: int, cols: int) -> str:
    text = ""
    for r in range(rows):
        for c in range(cols):
            text += f"{FAKE}<row_{r + 1}_col_{c + 1}>" + IMAGE * n
        text += "\n"
    return text + "\n" + single_image(n)


def image_string(n: int, rows: int, cols: int) -> str:
    return single_image(n) if rows == 0 and cols == 0 else split_image(n, rows, cols)


def expand_images(text: str, layouts: list[list[int]], n: int) -> str:
    parts = text.split(IMAGE)
    out = parts[0]
    for (rows, cols), rest in zip(layouts, parts[1:]):
        out += image_string(n, rows, cols) + rest
    return out


def frame_time(second: float) -> list[int]:
    return [int(second // 60), int(second % 60)]


def video_string(n: int, num_frames: int, duration: int, seconds: list[float]) -> str:
    text = (f"You are provided the following series of {num2words(num_frames)} frames from a "
            f"{timedelta(seconds=int(duration))} [H:MM:SS] video.\n")
    for second in seconds:
        minutes, secs = frame_time(second)
        text += f"\nFrame from {minutes:02d}:{secs:02d}:" + single_image(n)
    return text + "\n\n"


def paligemma(text: str, num_images: int, n: int, bos: str = "<bos>") -> str:
    if IMAGE not in text:
        return IMAGE * (n * num_images) + bos + text + "\n"
    expanded = text.replace(IMAGE, IMAGE * n)
    at = expanded.rfind(IMAGE) + len(IMAGE)
    return expanded[:at] + bos + expanded[at:] + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="output folder (cases.json)")
    args = parser.parse_args()

    images = [{"rows": r, "cols": c, "seq": n, "expected": image_string(n, r, c)}
              for (r, c) in [(0, 0), (1, 1), (1, 4), (3, 4), (4, 4), (2, 3)] for n in (64, 81)]
    chat = "<|im_start|>User:<image>Can you describe this image?<end_of_utterance>\nAssistant:"
    two = "<|im_start|>User:<image><image>Compare.<end_of_utterance>\nAssistant:"
    expand = [
        {"text": chat, "layouts": [[3, 4]], "seq": 64, "expected": expand_images(chat, [[3, 4]], 64)},
        {"text": chat, "layouts": [[0, 0]], "seq": 64, "expected": expand_images(chat, [[0, 0]], 64)},
        {"text": two, "layouts": [[4, 4], [2, 4]], "seq": 64,
         "expected": expand_images(two, [[4, 4], [2, 4]], 64)},
        {"text": "no images here", "layouts": [], "seq": 64, "expected": "no images here"},
    ]
    videos = [
        {"num_frames": 3, "duration": 3, "seconds": [0.0, 1.0, 2.0], "seq": 64},
        {"num_frames": 64, "duration": 65, "seconds": [i * 65 / 63 for i in range(64)], "seq": 64},
        {"num_frames": 5, "duration": 3725, "seconds": [0, 59.9, 60, 3599.5, 3700], "seq": 81},
        {"num_frames": 4, "duration": 90000, "seconds": [0, 1, 2], "seq": 64},
    ]
    for v in videos:
        v["expected"] = video_string(v["seq"], v["num_frames"], v["duration"], v["seconds"])
    pali = [{"text": t, "images": k, "seq": n, "expected": paligemma(t, k, n)}
            for (t, k, n) in [("caption en", 1, 256), ("answer en what is this?", 2, 256),
                              ("<image>caption en", 1, 256), ("<image> a <image> b", 2, 4),
                              ("detect cat", 0, 256), ("ocr", 1, 1024)]]
    numbers = list(range(0, 1001)) + [1001, 1010, 1100, 1999, 2000, 10000, 12345, 100000, 101000,
                                      123456, 999999, 1000000, 1000001, 1000100, 1001000, 2000050,
                                      1234567890, 10**12 + 7]
    cases = {
        "images": images,
        "expand": expand,
        "videos": videos,
        "paligemma": pali,
        "num2words": [[n, num2words(n)] for n in numbers],
        "timedelta": [[s, str(timedelta(seconds=s))] for s in (0, 3, 59, 60, 65, 3599, 3600, 3725,
                                                                86399, 86400, 90061, 200000)],
        "frame_time": [[s, frame_time(s)] for s in (0.0, 0.5, 59.99, 60.0, 61.5, 3599.0, 3600.0, 7322.7)],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cases.json").write_text(json.dumps(cases, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
