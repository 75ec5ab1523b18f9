#!/usr/bin/python3
"""Writes the tokenizer parity corpus (tests/tokenizer/data/corpus.json).

The corpus is hand-written hard cases (every script family, whitespace and newline runs,
control characters, special-token text, invalid UTF-8, very long inputs) plus seeded random
mixes of them. The output is committed; re-running with the same seed gives the same file.

Each case is one line: {"id": ..., "text": ...} or, for bytes that are not valid UTF-8 (which a
JSON string cannot hold), {"id": ..., "bytes_b64": ...}. Consumers decode bytes_b64 with a lossy
UTF-8 decode (U+FFFD per maximal invalid subpart), as the tokenizer's encode() does.

    /usr/bin/python3 scripts/tokenizer_oracle/make_corpus.py --out tests/tokenizer/data/corpus.json
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import re
import sys
import unicodedata
from pathlib import Path

# ---- hand-written cases ---------------------------------------------------------------------

SCRIPTS: dict[str, list[str]] = {
    "latin": [
        "Hello, world!",
        "The quick brown fox jumps over the lazy dog.",
        "Ça va? Où est la bibliothèque? Déjà vu, naïve café, façade.",
        "Größenwahn über Äpfel, Öl und Übermut — ß ẞ",
        "Łódź, Kraków, Wrocław; Čeština: příliš žluťoučký kůň úpěl ďábelské ódy.",
        "Ångström, Øresund, Æble, señor, São Paulo, ñandú, İstanbul, ğüşıöç",
        "Tiếng Việt có dấu: Người ta thường nói rằng học, học nữa, học mãi.",
        "I'm sure you've seen it; they'll say we'd done it. DON'T SHOUT, it's 'quoted'.",
    ],
    "greek": ["Καλημέρα κόσμε! Ελληνικά με τόνους: ά έ ή ί ό ύ ώ ϊ ϋ ΐ ΰ", "ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ αβγδεζηθικλμνξοπρσςτυφχψω"],
    "cyrillic": ["Привет, мир! Съешь же ещё этих мягких французских булок.", "Ёлка, ЙОД, Україна: ґ є і ї; Српски: ђ ј љ њ ћ џ"],
    "arabic": ["مرحبا بالعالم! هذا نص عربي مع تشكيل: بِسْمِ اللَّهِ الرَّحْمَٰنِ الرَّحِيمِ", "الأرقام العربية: ٠١٢٣٤٥٦٧٨٩ و فارسی: ۰۱۲۳۴۵۶۷۸۹ گ پ چ ژ"],
    "hebrew": ["שלום עולם! עברית עם ניקוד: בְּרֵאשִׁית בָּרָא אֱלֹהִים", "mixed RTL: hello שלום 123 עולם end"],
    "devanagari": ["नमस्ते दुनिया! हिन्दी में लिखा गया पाठ।", "क्षत्रिय ज्ञान श्री द्वार अर्ध ॐ ०१२३४५६७८९"],
    "bengali": ["হ্যালো বিশ্ব! বাংলা ভাষায় লেখা।", "ক্ষ জ্ঞ ৎ ঁ ০১২৩৪৫৬৭৮৯"],
    "thai": ["สวัสดีชาวโลก ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ", "กรุงเทพมหานคร อมรรัตนโกสินทร์ ๐๑๒๓๔๕๖๗๘๙"],
    "cjk": ["你好，世界！这是一个中文句子。", "繁體中文：臺灣、香港、澳門。", "龘靐齉爩 𠀀𠀁𪚥 (CJK Extension B)", "漢字と「かっこ」、句読点。"],
    "japanese": ["こんにちは世界！ひらがなとカタカナ、そして漢字。", "ｶﾀｶﾅ半角 ｱｲｳｴｵ ﾊﾟﾋﾟﾌﾟ ガギグゲゴ ヴ ー ・", "東京スカイツリーは634メートルです。"],
    "korean": ["안녕하세요 세계! 한국어 문장입니다.", "똠방각하 뷁 햏 ㄱㄴㄷ 각 (jamo)"],
    "ethiopic": ["ሰላም ለዓለም! ኢትዮጵያ አማርኛ።", "ግዕዝ ፩ ፪ ፫ ፬ ፭"],
    "other_scripts": ["Հայերեն ქართული ᏣᎳᎩ ᠮᠣᠩᠭᠣᠯ ܐܪܡܝܐ ދިވެހި ꦗꦮ", "தமிழ் తెలుగు ಕನ್ನಡ മലയാളം ગુજરાતી ਪੰਜਾਬੀ ଓଡ଼ିଆ සිංහල", "ລາວ ខ្មែរ မြန်မာ བོད་ཡིག"],
    "emoji": [
        "I ❤️ tokenizers 😀😃😄😁🤣",
        "family: 👨‍👩‍👧‍👦 couple: 👩‍❤️‍💋‍👨 rainbow flag: 🏳️‍🌈 pirate: 🏴‍☠️",
        "skin tones: 👍🏻 👍🏼 👍🏽 👍🏾 👍🏿 🧑🏽‍💻",
        "flags: 🇺🇸🇫🇷🇯🇵🇩🇪🇧🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿",
        "variation selectors: ☺ ☺️ ☺︎ ♥️ ✔️ 1️⃣ #️⃣ ©️",
        "🧑‍🤝‍🧑🫶🏾🫠🪿🥹",
    ],
    "math_symbols": ["∀x∈ℝ: x²≥0, ∑ᵢ aᵢ ≈ ∫₀^∞ f(x)dx ≠ ∞ ⊂ ⊆ ∧ ∨ ¬ → ⇒ ⟨ψ|φ⟩", "½ ¼ ¾ ⅓ № ™ ℃ ℉ Ω Å ﬁ ﬂ ǅ ⑴ ㈱ ㎏"],
}

WHITESPACE = [
    " ", "  ", "   ", "    leading", "trailing    ", "a  b   c    d", " " * 17 + "x",
    "\t", "\t\ttabs\tand\t\tmore", " \t \t mixed ", "a\u00a0b\u00a0\u00a0c", "\u00a0leading nbsp",
    "em\u2003space en\u2002space thin\u2009space hair\u200aspace", "ideographic\u3000space\u3000\u3000",
    "narrow\u202fnbsp math\u205fspace ogham\u1680mark", "figure\u2007space punct\u2008space",
    "zero\u200bwidth\u200bspace", "word\u2060joiner", "line\u2028separator", "para\u2029separator",
    "next\u0085line", "\u3000\u3000\u3000", "x" + " " * 3 + "\n" + " " * 2 + "y",
]

NEWLINES = [
    "\n", "\n\n", "\n\n\n\n\n", "line1\nline2", "line1\n\nline2\n\n\nline3", "ends with newline\n",
    "\nstarts with newline", "windows\r\nline\r\nendings\r\n", "\r\n\r\n", "\r", "old\rmac",
    "mixed\r\n\n\r\r\n", "  \n  indented\n    more\n", "tab\n\tindent", "\n \n \n",
    "trailing spaces   \n   leading spaces", "a\n\n\n\n\n\n\n\n\n\n\n\n\n\n\n\nb",
]

CONTROLS = [
    "\x00", "nul\x00in\x00middle", "bell\x07 backspace\x08 vt\x0b ff\x0c esc\x1b[31mred\x1b[0m",
    "del\x7f c1\x80\x9f", "\x01\x02\x03\x04\x05\x06", "\ufeffBOM at start", "soft\u00adhyphen",
    "rtl\u200fmark ltr\u200emark", "bidi \u202eoverride\u202c pop", "tag chars \U000e0041\U000e0042",
    "private use \ue000\uf8ff \U000f0000", "noncharacter \ufdd0 \uffff", "replacement \ufffd char",
    "combining only \u0301\u0301", "e\u0301 vs \u00e9", "A\u030a vs \u212b vs \u00c5",
    "a\u0323\u0302 vs a\u0302\u0323", "\u1100\u1161\u11a8 composed by NFC", "\u0041\u0308\u0301",
]

NUMBERS = [
    "0", "7", "42", "123", "1234", "12345", "123456789", "3.14159265358979323846",
    "1,234,567.89", "-0.001", "+1e-10", "6.022e23", "0x7fffffff 0b1010 0o777",
    "2024-06-01T12:34:56Z", "phone: +1 (555) 010-9999", "12345678901234567890123456789012345678901234567890",
    "1 2 3 4 5 6 7 8 9 10", "v1.2.3-rc.4+build.5", "100% of 3/4 ≈ 0.75", "٣ ٤ ٥ ① ② ③ ¹²³ ₁₂₃ Ⅻ",
    "9" * 100,
]

PUNCTUATION = [
    "!!!", "???", "...", "…", "!?!?", "--", "—", "–", "''", '""', "``", "“smart” ‘quotes’", "«guillemets» ‹single›",
    "「」『』【】〈〉《》", "(parens) [brackets] {braces} <angles>", "a.b,c;d:e!f?g", "@#$%^&*()_+-=[]{}|\\:;\"'<>,.?/~`",
    "'s 't 're 've 'm 'll 'd", "'S 'T 'RE 'VE 'M 'LL 'D", "don't can't won't shouldn't", "it's O'Reilly's",
    "¡Hola! ¿Qué tal?", "Hmm... well—maybe; or: no!", "***bold*** __underline__ ~~strike~~", "====", "____",
    "////", "\\\\\\\\", "#####", "~~~~~~", "-----BEGIN-----", "..!..?..", "。、！？", "\u060c\u061b\u061f",
]

CODE = [
    "def f(x):\n    return x ** 2  # square\n",
    "int main() {\n\tprintf(\"%d\\n\", 42);\n\treturn 0;\n}\n",
    "for (let i = 0; i < n; ++i) { arr[i] = i * 2; }",
    "if x != None and y >= 3:\n        pass\n    elif z:\n        raise ValueError('bad')",
    "<div class=\"main\"><p>Hello &amp; welcome</p></div>",
    '{"key": "value", "list": [1, 2, 3], "nested": {"a": null, "b": true}}',
    "SELECT id, name FROM users WHERE age > 21 ORDER BY name DESC LIMIT 10;",
    "#include <vector>\nstd::vector<int> v{1,2,3};\nauto it = v.begin();",
    "$ git commit -m \"fix: handle CRLF\" && ls -la | grep .json > out.txt 2>&1",
    "fn main() -> Result<(), Box<dyn Error>> {\n    println!(\"{:?}\", vec![1u8; 4]);\n    Ok(())\n}",
    "    indented by four\n        by eight\n\t\ttabs\n",
    "x=1;y=2;z=x+y;print(z)",
    "camelCaseIdentifier snake_case_identifier SCREAMING_CASE kebab-case PascalCase",
    "a_b__c___d", "__init__", "self.__dict__['_x']", "<<=>>=!===&&||",
    "```python\nprint('hi')\n```",
    "| col1 | col2 |\n|------|------|\n| a    | b    |",
    "% LaTeX: \\frac{a}{b} + \\sqrt{x^2 + y^2} = \\alpha_{i,j}",
]

URLS = [
    "https://huggingface.co/HuggingFaceTB/SmolVLM-256M-Instruct/blob/main/tokenizer.json",
    "http://example.com:8080/path/to/file.html?query=1&b=two#frag",
    "mailto:someone@example.org", "ftp://ftp.example.net/pub/file.tar.gz",
    "www.例え.jp/パス?q=日本語", "https://xn--e1afmkfd.xn--p1ai/", "user.name+tag@sub.domain.co.uk",
    "file:///home/user/My%20Documents/a%2Fb.txt", "192.168.0.1:443 [::1]:8080 fe80::1%eth0",
    "C:\\Users\\me\\Desktop\\file.txt",
]

SPECIAL_TEXT = [
    "<|im_start|>", "<|im_end|>", "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n",
    "<end_of_utterance>", "User:<image>What is this?<end_of_utterance>\nAssistant:",
    "<image>", "<image><image><image>", "<fake_token_around_image><global-img><image><fake_token_around_image>",
    "<row_1_col_1><row_1_col_2>", "<bos>", "<eos>", "<pad>", "<unk>", "<s>", "</s>", "<mask>",
    "<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
    "<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<image_soft_token>",
    "<|begin_of_text|>", "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>",
    "<|end_of_text|>", "<|eot_id|>", "<|endoftext|>", "<|endofprompt|>", "text<|endoftext|>more text",
    "<think>\nreasoning\n</think>\n\nanswer", "<tool_call>{}</tool_call>",
    "<｜begin▁of▁sentence｜>", "<｜User｜>hi<｜Assistant｜>",
    "<|im_sta", "<|im_start", "im_start|>", "<|im_start|", "<|im_start|>>", "<<|im_start|>",
    "<end_of_utter", "<end_of_utterance", "<ima", "<image", "image>", "<bo", "<bos", "<|begin_of_te",
    "<|endoftext", "<start_of_tur", " <|im_start|> ", "  <image>  ", "\n<bos>\n", "<|im_start|><|im_end|>",
    "a<|im_start|>b<image>c<bos>d<start_of_turn>e", "<IMAGE> <Image> <BOS>", "< |im_start| >",
]

EDGE = [
    "", " ", "a", "A", "é", "日", "😀", "ab", " a", "a ", "I", "Hello", " Hello", "Hello ", "hello world", "HELLO WORLD",
    "▁", "▁▁", "▁hello", "Ġ", "Ċ", "<0x41>", "<0xFF>", "##suffix", "</w>",
]

# Byte strings that are not valid UTF-8 (each becomes a bytes_b64 case).
INVALID_UTF8 = [
    b"\xff", b"\xfe\xff", b"abc\x80def", b"\xc3", b"\xc3(", b"\xe2\x82", b"\xe2\x82(", b"\xf0\x9f\x98",
    b"\xf0\x9f\x98 end", b"\xc0\xaf", b"\xe0\x80\xaf", b"\xed\xa0\x80", b"\xed\xbf\xbf", b"\xf4\x90\x80\x80",
    b"\xf8\x88\x80\x80\x80", b"\x80\x80\x80", b"caf\xe9 cr\xe8me", b"ok \xf0\x9f\x98\x80 \xf0\x9f\x98 bad",
    b"\xef\xbb", b"<|im_start|>\xff<|im_end|>", b"\xe6\x97\xa5\xe6\x97", b"mixed\xc2\r\n\xa0line",
]


def long_cases(rng: random.Random) -> list[tuple[str, str]]:
    pool = [s for group in SCRIPTS.values() for s in group] + CODE + URLS + NUMBERS[:10] + PUNCTUATION[:15]
    pieces: list[str] = []
    while sum(len(p.encode()) for p in pieces) < 20000:
        pieces.append(rng.choice(pool))
        pieces.append(rng.choice([" ", " ", "\n", "\n\n", "  ", "\t", ". "]))
    mixed = "".join(pieces)
    return [
        ("long_mixed_20kb", mixed),
        ("long_single_word", "a" * 3000),
        ("long_repeated_pattern", "abcabc" * 600),
        ("long_spaces", " " * 4000),
        ("long_newlines", "\n" * 2000),
        ("long_digits", "1234567890" * 300),
        ("long_cjk_run", "".join(chr(0x4E00 + rng.randrange(0x9FA5 - 0x4E00)) for _ in range(3000))),
        ("long_emoji_run", "😀" * 1000 + "👨‍👩‍👧‍👦" * 200),
        ("long_punctuation", "!?." * 1500),
        ("long_specials", "<|im_start|>user\n<image>hi<end_of_utterance>\n" * 200),
    ]


# ---- seeded random cases --------------------------------------------------------------------

# Ranges assigned since Unicode 6 or earlier, so the oracle's and our Unicode tables agree.
RANGES = [
    (0x20, 0x7E), (0xA0, 0xFF), (0x100, 0x17F), (0x300, 0x36F), (0x391, 0x3C9), (0x410, 0x44F),
    (0x5D0, 0x5EA), (0x621, 0x64A), (0x905, 0x939), (0x985, 0x9B9), (0xE01, 0xE3A), (0x1200, 0x1248),
    (0x3041, 0x3096), (0x30A1, 0x30FA), (0x4E00, 0x9FA5), (0xAC00, 0xD7A3), (0xFF01, 0xFF5E),
    (0x1F600, 0x1F64F), (0x2000, 0x206F), (0x1F300, 0x1F5FF),
]
SEPARATORS = [" ", "  ", "\n", "\t", "", "\r\n", "\u00a0", " \n ", "\n\n", "   "]


def random_codepoints(rng: random.Random, length: int) -> str:
    out = []
    for _ in range(length):
        lo, hi = rng.choice(RANGES)
        cp = rng.randint(lo, hi)
        # Skip unassigned code points so the corpus does not test Unicode-version drift.
        if unicodedata.category(chr(cp)) == "Cn":
            cp = 0x20
        out.append(chr(cp))
    return "".join(out)


def random_mix(rng: random.Random, pool: list[str]) -> str:
    parts = []
    for _ in range(rng.randint(2, 6)):
        piece = rng.choice(pool)
        if len(piece) > 12 and rng.random() < 0.5:  # a slice, so pieces start and end mid-word
            a = rng.randrange(len(piece))
            b = rng.randrange(a, len(piece) + 1)
            piece = piece[a:b]
        parts.append(piece)
        parts.append(rng.choice(SEPARATORS))
    return "".join(parts)


def random_ascii(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" + " " * 10 + "\n\t'\".,;:!?-_()[]{}<>/\\|@#$%^&*+=~`"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))


def random_bytes(rng: random.Random) -> bytes:
    valid = "aé日😀 \n".encode()
    out = bytearray()
    for _ in range(rng.randint(1, 24)):
        if rng.random() < 0.35:
            out.append(rng.randint(0x80, 0xFF))
        else:
            out += valid[rng.randrange(len(valid))].to_bytes(1, "little")
    return bytes(out)


def generated_cases(rng: random.Random, count: int) -> list[dict]:
    pool = ([s for group in SCRIPTS.values() for s in group] + WHITESPACE + NEWLINES + NUMBERS +
            PUNCTUATION + CODE + URLS + SPECIAL_TEXT + CONTROLS)
    cases: list[dict] = []
    kinds = ["mix", "mix", "mix", "codepoints", "ascii", "bytes"]
    for i in range(count):
        kind = kinds[i % len(kinds)]
        if kind == "mix":
            cases.append({"id": f"gen_mix_{i:03d}", "text": random_mix(rng, pool)})
        elif kind == "codepoints":
            cases.append({"id": f"gen_codepoints_{i:03d}", "text": random_codepoints(rng, rng.randint(1, 60))})
        elif kind == "ascii":
            cases.append({"id": f"gen_ascii_{i:03d}", "text": random_ascii(rng)})
        else:
            data = random_bytes(rng)
            case = {"id": f"gen_bytes_{i:03d}"}
            try:
                case["text"] = data.decode("utf-8")
            except UnicodeDecodeError:
                case["bytes_b64"] = base64.b64encode(data).decode("ascii")
            cases.append(case)
    return cases


# ---- output ---------------------------------------------------------------------------------

_INVISIBLE = re.compile(r"[^\S ]|[\u0000-\u001f\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202f\u2060-\u206f"
                        r"\ufe00-\ufe0f\ufeff\ufff0-\uffff\U000e0000-\U000e007f\U000f0000-\U0010ffff\ue000-\uf8ff"
                        r"\ufdd0-\ufdef\u0300-\u036f\u3000\u1680\u2000-\u200a\u212b\u1100-\u11ff]")


def _escape(match: re.Match[str]) -> str:
    cp = ord(match.group(0))
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    cp -= 0x10000
    return f"\\u{0xD800 + (cp >> 10):04x}\\u{0xDC00 + (cp & 0x3FF):04x}"


def dump_case(case: dict) -> str:
    """One case per line; invisible and combining characters escaped so diffs stay readable."""
    text = json.dumps(case, ensure_ascii=False)
    # json.dumps already escaped C0 controls; escape the rest of the invisible set (only inside
    # string values, which is everywhere such characters can appear).
    return _INVISIBLE.sub(_escape, text)


def build(seed: int, generated: int) -> list[dict]:
    rng = random.Random(seed)
    cases: list[dict] = []
    for family, texts in SCRIPTS.items():
        cases += [{"id": f"{family}_{i}", "text": t} for i, t in enumerate(texts)]
    for name, group in [("whitespace", WHITESPACE), ("newlines", NEWLINES), ("control", CONTROLS),
                        ("numbers", NUMBERS), ("punct", PUNCTUATION), ("code", CODE), ("url", URLS),
                        ("special", SPECIAL_TEXT), ("edge", EDGE)]:
        cases += [{"id": f"{name}_{i}", "text": t} for i, t in enumerate(group)]
    cases += [{"id": f"invalid_utf8_{i}", "bytes_b64": base64.b64encode(b).decode("ascii")}
              for i, b in enumerate(INVALID_UTF8)]
    cases += [{"id": name, "text": text} for name, text in long_cases(rng)]
    cases += generated_cases(rng, generated)
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return cases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="corpus file to write (JSON)")
    parser.add_argument("--seed", type=int, default=20260601, help="random seed (default: %(default)s)")
    parser.add_argument("--generated", type=int, default=180, help="number of random cases (default: %(default)s)")
    args = parser.parse_args()

    cases = build(args.seed, args.generated)
    lines = ",\n".join(dump_case(c) for c in cases)
    header = json.dumps({"generator": "scripts/tokenizer_oracle/make_corpus.py", "seed": args.seed})[:-1]
    content = f'{header}, "cases": [\n{lines}\n]}}\n'
    # The escaping above must keep the file valid JSON with the same strings.
    assert json.loads(content)["cases"] == cases
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(content, encoding="utf-8")
    print(f"wrote {len(cases)} cases to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
