#!/usr/bin/env python3
"""Golden o200k token counts for evalh's own BPE counter (src/tokens.rs), from the reference implementation.

Why: evalh counts tokens locally with a purpose-built o200k counter; the only proof that it is exact is agreement
with OpenAI's Python `tiktoken` on many varied strings. This script writes tests/data/tokens_o200k.jsonl, one
{"text": ..., "count": ...} per line, which tests/it/tokens_golden.rs checks count for count.

Offline: tiktoken cannot download the vocabulary here, so it is read from the copy that ships with the tiktoken-rs
crate (found under ~/.cargo/registry), its SHA-256 checked against the hash tiktoken itself expects. The split
pattern and special tokens come from tiktoken's own o200k_base() definition.

Run: pip install tiktoken && python3 scripts/gen_token_golden.py   (deterministic: fixed seed)
"""

import glob
import hashlib
import json
import os
import random
import string
import sys

import tiktoken
import tiktoken.load
import tiktoken_ext.openai_public as openai_public

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "tokens_o200k.jsonl")


def encoding():
    paths = sorted(glob.glob(os.path.expanduser("~/.cargo/registry/src/*/tiktoken-rs-*/assets/o200k_base.tiktoken")))
    if not paths:
        sys.exit("o200k_base.tiktoken not found under ~/.cargo/registry (run cargo build once)")
    path = paths[-1]
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != O200K_SHA256:
        sys.exit(f"{path}: sha256 {digest} is not the o200k_base file tiktoken expects")
    ranks = tiktoken.load.load_tiktoken_bpe(path)
    # tiktoken's own definition, with the download replaced by the local copy.
    openai_public.load_tiktoken_bpe = lambda *_a, **_k: ranks
    spec = openai_public.o200k_base()
    return tiktoken.Encoding(name=spec["name"], pat_str=spec["pat_str"], mergeable_ranks=spec["mergeable_ranks"],
                             special_tokens={})


WORDS = ("the of and to in is was for on that with as by at from it an be this which or are have not had but were "
         "one all their there been has when who will more no if out so said what up its about into than them can "
         "only other new some could time these two may then do first any my now such like our over man me even "
         "most made after also did many before must through back years where much your way well down should "
         "because each just those people Mr how too little state good very make world still own see men work long "
         "get here between both life being under never day same another know while last might us great old year "
         "off come since against go came right used take three evaluation provider latency token budget request "
         "Denver Broncos London OpenAI GPT-4o JSON YAML HTTP/1.1 naïve café résumé coöperate façade").split()
CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D", "'Ll",
                "'rE", "'x", "’s", "''s"]
SPACES = [" ", "  ", "   ", "\t", "\t\t", " \t", "\n", "\n\n", "\r\n", " \n", "\n ", "\n  ", "  \n", "\u00a0",
          "\u3000", "\u2009", "\u200b", "\x0b", "\x0c", "\r", " \r\n ", "\n\t"]
CJK = "日本語の文章を書きます。中文测试：我们今天去公园散步吧！한국어 문장도 섞어 봅니다。カタカナとひらがな、漢字。"
ARABIC = "السلام عليكم ورحمة الله، كيف حالك اليوم؟ ١٢٣ مرحبا بالعالم"
OTHER = ["Привет, как дела? ЁЖИК", "Γειά σου Κόσμε", "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Xin chào thế giới",
         "Zażółć gęślą jaźń", "İstanbul ılık", "ß ẞ ǅ ǈ ǋ", "ﬁ ﬂ ﬀ", "ℌ𝔢𝔩𝔩𝔬 𝕎𝕠𝕣𝕝𝕕", "Ⅻ ① ⑳ ²³ ½ ¾"]
EMOJI = ["😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "🏳️‍🌈", "❤️", "🤖", "✅", "🔥🔥🔥", "☕️", "👩🏻‍💻", "🧑‍🚀", "1️⃣", "©️", "™"]
COMBINING = ["e\u0301", "a\u0308\u0323", "n\u0303", "Z\u0351\u0363\u0364\u036b", "\u0301", "\u0301\u0301x",
             "o\u0338", "\u0915\u094d\u0937", "\u0e01\u0e34\u0e4a", "A\u030a\u0323B"]
PUNCT = string.punctuation + "«»“”‘’—–…·•§¶†‡°±×÷¿¡€£¥¢"


def word(rng):
    w = rng.choice(WORDS)
    r = rng.random()
    if r < 0.1:
        w = w.upper()
    elif r < 0.25:
        w = w.capitalize()
    return w


def prose(rng, n):
    out = []
    for i in range(n):
        w = word(rng)
        if rng.random() < 0.08:
            w += rng.choice(CONTRACTIONS)
        out.append(w)
        if rng.random() < 0.12:
            out.append(rng.choice(",.;:!?"))
    s = ""
    for w in out:
        s += w if (w in ",.;:!?" or not s) else " " + w
    return s


def number(rng):
    k = rng.randint(1, 40)
    d = "".join(rng.choice(string.digits) for _ in range(k))
    r = rng.random()
    if r < 0.2:
        d = "-" + d
    elif r < 0.35:
        d = d + "." + "".join(rng.choice(string.digits) for _ in range(rng.randint(1, 8)))
    elif r < 0.45:
        d = f"{int(d):,}"
    elif r < 0.55:
        d = f"{rng.random() * 10 ** rng.randint(-20, 20):e}"
    elif r < 0.65:
        d = rng.choice(["v", "x", "abc", "ID", "#", "$", "0x"]) + d + rng.choice(["", "px", "ms", "%", "th", "k"])
    return d


def code(rng):
    ident = lambda: "_".join(rng.choice(WORDS).lower().strip("'.-/") or "x" for _ in range(rng.randint(1, 3)))
    lines = []
    depth = 0
    for _ in range(rng.randint(2, 12)):
        ind = rng.choice(["    ", "\t", "  "]) * depth
        kind = rng.random()
        if kind < 0.25:
            lines.append(f"{ind}fn {ident()}(x: &str, n: u{rng.choice([8, 32, 64])}) -> Result<Vec<u8>> {{")
            depth += 1
        elif kind < 0.45:
            lines.append(f"{ind}let {ident()} = {ident()}.{ident()}({number(rng)}, \"{prose(rng, 3)}\")?;")
        elif kind < 0.6:
            lines.append(f"{ind}if {ident()} >= {number(rng)} && !{ident()}.is_empty() {{ return None; }}")
        elif kind < 0.7:
            lines.append(f"{ind}def {ident()}(self, *args, **kwargs):  # {prose(rng, 4)}")
        elif kind < 0.8:
            lines.append(f"{ind}// {prose(rng, rng.randint(2, 9))}")
        elif kind < 0.9 and depth > 0:
            depth -= 1
            lines.append(ind[: -4 if ind.endswith("    ") else -1] + "}")
        else:
            lines.append("")
    return rng.choice(["\n", "\r\n"]).join(lines) + rng.choice(["", "\n", "\n\n", "  \n"])


def json_text(rng):
    def value(d):
        r = rng.random()
        if d > 2 or r < 0.3:
            return rng.choice([number(rng), prose(rng, rng.randint(1, 6)), True, None, 3.25, -7, ""])
        if r < 0.6:
            return [value(d + 1) for _ in range(rng.randint(0, 4))]
        return {word(rng): value(d + 1) for _ in range(rng.randint(0, 4))}

    v = {"id": rng.randint(0, 10 ** 9), "data": value(0)}
    return json.dumps(v, ensure_ascii=rng.random() < 0.3, indent=rng.choice([None, None, 2, 4, "\t"]))


def whitespace(rng):
    parts = []
    for _ in range(rng.randint(1, 8)):
        parts.append(rng.choice(SPACES) * rng.randint(1, 3))
        if rng.random() < 0.7:
            parts.append(rng.choice([word(rng), number(rng), rng.choice(PUNCT), rng.choice(EMOJI), "x", "'s"]))
    return "".join(parts)


def mixed(rng):
    pools = [lambda: word(rng), lambda: rng.choice(CJK), lambda: rng.choice(ARABIC), lambda: rng.choice(EMOJI),
             lambda: rng.choice(COMBINING), lambda: rng.choice(rng.choice(OTHER)), lambda: rng.choice(PUNCT),
             lambda: rng.choice(SPACES), lambda: number(rng), lambda: rng.choice(CONTRACTIONS)]
    return "".join(rng.choice(pools)() for _ in range(rng.randint(1, 30)))


def random_codepoints(rng):
    ranges = [(0x20, 0x7e), (0xa0, 0x24f), (0x300, 0x36f), (0x370, 0x3ff), (0x400, 0x4ff), (0x590, 0x6ff),
              (0x900, 0x97f), (0xe00, 0xe7f), (0x1100, 0x11ff), (0x2000, 0x206f), (0x2100, 0x27bf),
              (0x3000, 0x30ff), (0x4e00, 0x9fff), (0xac00, 0xd7a3), (0xfe00, 0xfe0f), (0xff00, 0xffef),
              (0x1d400, 0x1d7ff), (0x1f300, 0x1faff), (0x20000, 0x2a6df), (0x0, 0x1f), (0xe000, 0xe0ff)]
    out = []
    for _ in range(rng.randint(1, 40)):
        lo, hi = rng.choice(ranges)
        out.append(chr(rng.randint(lo, hi)))
    return "".join(out)


def long_word(rng):
    kind = rng.randrange(7)
    n = rng.choice([50, 200, 600, 1500, 4000])
    if kind == 0:
        return rng.choice("abxz") * n
    if kind == 1:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(n))
    if kind == 2:
        return "".join(rng.choice(string.digits) for _ in range(n))
    if kind == 3:
        return "".join(rng.choice("!@#$%^&*()-=+[]{};:,.<>/?|~") for _ in range(n))
    if kind == 4:
        return rng.choice([" ", "\t", "\n", " \n"]) * (n // 2) + rng.choice(["", "x", " y"])
    if kind == 5:
        return "".join(rng.choice(CJK) for _ in range(n // 4))
    return "".join(rng.choice(["ab", "ba", "aab", "abc", "🙂"]) for _ in range(n // 2))


FIXED = [
    "", " ", "  ", "\n", "\n\n", "\t", "a", "a  b", "a   b", "a \t b", "a  ", "a   ", "trailing spaces   ",
    "\n\n  x", "\n  x", "  x", "   x", "x  \n", "x \n\n y", " \t x", "\r\n\r\n", "a\r\n  b", "  \n  ", "x\u00a0\u00a0y",
    "I'LL", "they've", "DON'T", "it's", "He'S", "'s", "''s", "we'D", "You'Re", "o'clock", "rock'n'roll", "’s",
    "hello world", "Hello, World!", "HELLO WORLD", "helloWorld", "HelloWORLDFoo", "snake_case_name",
    "https://example.com/a/b?c=d&e=f#g", "user@example.com", "C:\\Windows\\System32", "/usr/local/bin/",
    "1", "12", "123", "1234", "12345", "123456", "1234567", "3.14159", "-0.5e-10", "1,000,000", "0x1F",
    "<|endoftext|>", "<|endofprompt|>", "```python\nprint('hi')\n```", "{\"a\": [1, 2, {\"b\": null}]}",
    "x/\n", "!!!\n/", "...\r\n", " ?\n", "//\n\n", "a/b/c\r/",
]


def main():
    enc = encoding()
    rng = random.Random(20_240_601)
    texts = list(FIXED) + list(PUNCT) + [c + c for c in PUNCT] + [" " + c for c in PUNCT]
    texts += EMOJI + COMBINING + OTHER + [CJK, ARABIC]
    gens = [(lambda: prose(rng, rng.randint(1, 60)), 600), (lambda: code(rng), 350), (lambda: json_text(rng), 300),
            (lambda: number(rng), 300), (lambda: whitespace(rng), 450), (lambda: mixed(rng), 500),
            (lambda: random_codepoints(rng), 350), (lambda: long_word(rng), 60),
            (lambda: "".join(rng.choice(CJK) for _ in range(rng.randint(1, 60))), 120),
            (lambda: " ".join(rng.choice(ARABIC.split()) for _ in range(rng.randint(1, 12))), 80)]
    for gen, n in gens:
        texts += [gen() for _ in range(n)]
    seen, rows = set(), []
    for t in texts:
        if t in seen:
            continue
        seen.add(t)
        rows.append({"text": t, "count": len(enc.encode_ordinary(t))})
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{len(rows)} texts, {sum(r['count'] for r in rows)} tokens -> {os.path.normpath(OUT)} "
          f"({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
