#!/usr/bin/env python3
"""Reference token ids for Tests/TokenizerTests, produced independently of the Swift code.

Usage:
    pip install gguf tokenizers sentencepiece protobuf
    python3 tools/reference/tokenizer_reference.py [MODELS_DIR] > Tests/TokenizerTests/ReferenceTokenIDs.swift

MODELS_DIR defaults to ~/.cache/specdec/models and must hold smollm2-135m.gguf,
gemma-3-270m.gguf and qwen2.5-coder-0.5b.gguf.

How each model is tokenized here (the Swift tokenizer follows llama.cpp, which wrote these GGUF files):

* Special tokens written in the text are split off first with a direct transcription of
  llama.cpp's `tokenizer_st_partition`: every control / user-defined / unknown token, longest
  text first, is cut out of the raw fragments left to right. Without `parse_special`, control
  and unknown tokens are not cut out, but user-defined tokens still are.
* Byte-level BPE (Qwen2, SmolLM2): the Hugging Face `tokenizers` library (Rust) builds a BPE
  model from the GGUF vocab and merges, with the pre-tokenizer of the original tokenizer.json:
    - qwen2:  Split(<Qwen2 regex>, isolated) + ByteLevel(use_regex=False)
    - smollm: Digits(individual_digits=True) + ByteLevel(use_regex=True)  (GPT-2 regex)
  Qwen2's tokenizer.json also NFC-normalizes; llama.cpp does not, so no normalizer is set here.
* SentencePiece BPE (Gemma 3): the `sentencepiece` library (C++) loads a ModelProto built
  from the GGUF tokens, scores and types (BPE, byte fallback, no dummy prefix, whitespace
  escaped to U+2581, identity normalization).

Cases: hand-written ones (whitespace runs, newlines, digits, code, emoji, CJK, accented Latin,
special tokens in text) plus 40 random mixtures of awkward pieces from a fixed seed.

As a cross-check, Qwen2 is also encoded with transformers' own GGUF converter
(GGUFQwen2Converter); disagreements are printed to stderr. The only one expected is NFC: the
converter composes "S" + U+0301 into "Ś" before tokenizing, llama.cpp (and this reference) do not.
"""

import json
import os
import random
import sys

from gguf import GGUFReader
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
import sentencepiece as spm
from sentencepiece import sentencepiece_model_pb2 as spm_pb2

QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
               r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

CODE = '''def fibonacci(n: int) -> int:
    """Return the n-th Fibonacci number."""
    if n < 2:
        return n
    a, b = 0, 1
    for _ in range(n - 1):
        a, b = b, a + b
    return b


print(fibonacci(10))  # 55
'''

# (name, text, parse_special). Encoded without BOS.
COMMON_CASES = [
    ("empty", "", True),
    ("whitespace runs", "a  b   c    d\t\te \t f     ", True),
    ("leading and trailing spaces", "   hello world   ", True),
    ("newlines", "line one\nline two\n\nline three\r\n\n\n  indented\n", True),
    ("digits", "12345", True),
    ("decimal", "3.14159", True),
    ("numbers in text", "In 2024, 1,234,567 people paid $89.99 each.", True),
    ("python code", CODE, True),
    ("emoji", "I love 🦀 and 😀👍🏽! 🇯🇵", True),
    ("cjk", "你好，世界。日本語のテキストです。한국어 텍스트", True),
    ("accented latin", "café naïve Zürich", True),
    ("contractions", "I'm sure you'll see they've DON'T it's", True),
    ("punctuation", "Hello, world!!! (a+b)*c == d; x->y <= z... ¿Qué?", True),
    ("other scripts", "Ελληνικά русский עברית العربية हिन्दी", True),
    ("unicode spaces", "a\u00a0b\u3000c\u2009d \u00a0 e", True),
    ("html", "<table><tr><td>x</td></tr></table>", True),
]

# Random mixtures of awkward pieces (whitespace kinds, digits of several scripts, contractions,
# combining marks, emoji, special-token texts, byte-token look-alikes), fixed seed.
RANDOM_ATOMS = [
    "a", "B", "é", "中", "1", "٣", "²", " ", "  ", "   ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u3000", "'", "s",
    "t", "re", "ve", "LL", ".", ",", "!", "🦀", "👍🏽", "_", "-", "<", ">", "|", "\u0301", "ll", "D", "\u2028",
    "\u0085", "\x0b", "\x0c", "\x1c", "ab", "Hello", "world", "x", "'S", "'d", "\u200b", "ⅷ", "ǅ", "ʰ", "ـ",
    "①", "<eos>", "<bos>", "<start_of_turn>", "<|im_start|>", "<|endoftext|>", "[multimodal]", "<unused3>",
    "\n\n", "    ", "<0x41>", "Ġ", "\x00", "😀", "🇯🇵", "naïve", "ℌ", "ﬁ",
]


def random_cases(count=40, seed=20251123):
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        text = "".join(rng.choice(RANDOM_ATOMS) for _ in range(rng.randint(1, 30)))
        cases.append(("random mixture %d" % i, text, rng.random() < 0.5))
    return cases


CHATML_TEXT = "<|im_start|>user\nHi there!<|im_end|>\n<|im_start|>assistant\n"
GEMMA_TEXT = "<start_of_turn>user\nHi there!<end_of_turn>\n<start_of_turn>model\n"

MODELS = [
    ("smollm2", "smollm2-135m.gguf", [("special tokens in text", CHATML_TEXT, True),
                                      ("special tokens as plain text", CHATML_TEXT, False)]),
    ("qwen25", "qwen2.5-coder-0.5b.gguf", [("special tokens in text", CHATML_TEXT, True),
                                           ("special tokens as plain text", CHATML_TEXT, False),
                                           ("user-defined tool call tokens", "<tool_call>\n{}\n</tool_call>", False)]),
    ("gemma3", "gemma-3-270m.gguf", [("special tokens in text", GEMMA_TEXT, True),
                                     ("special tokens as plain text", GEMMA_TEXT, False)]),
]


def field_strings(r, key):
    f = r.fields[key]
    return [bytes(f.parts[i]).decode("utf-8") for i in f.data]


def field_scalars(r, key):
    f = r.fields[key]
    return [f.parts[i][0].item() for i in f.data]


def load(path):
    r = GGUFReader(path)
    meta = {
        "model": r.fields["tokenizer.ggml.model"].contents(),
        "pre": r.fields["tokenizer.ggml.pre"].contents() if "tokenizer.ggml.pre" in r.fields else None,
        "tokens": field_strings(r, "tokenizer.ggml.tokens"),
        "types": field_scalars(r, "tokenizer.ggml.token_type"),
    }
    if "tokenizer.ggml.merges" in r.fields:
        meta["merges"] = field_strings(r, "tokenizer.ggml.merges")
    if "tokenizer.ggml.scores" in r.fields:
        meta["scores"] = field_scalars(r, "tokenizer.ggml.scores")
    for k in ("bos_token_id", "eos_token_id", "unknown_token_id", "padding_token_id"):
        key = "tokenizer.ggml." + k
        meta[k] = int(r.fields[key].contents()) if key in r.fields else None
    return meta


def special_partition(text, meta, parse_special):
    """llama.cpp tokenizer_st_partition: returns a list of str (raw text) and int (token id)."""
    tokens, types = meta["tokens"], meta["types"]
    specials = [i for i, t in enumerate(types) if t in (2, 3, 4)]  # unknown, control, user-defined
    specials.sort(key=lambda i: (-len(tokens[i].encode("utf-8")), i))
    frags = [text] if text else []
    for sid in specials:
        if not parse_special and types[sid] in (2, 3):
            continue
        st = tokens[sid]
        out = []
        for fr in frags:
            if not isinstance(fr, str) or st not in fr:
                out.append(fr)
                continue
            pos = 0
            while True:
                j = fr.find(st, pos)
                if j < 0:
                    break
                if j > pos:
                    out.append(fr[pos:j])
                out.append(sid)
                pos = j + len(st)
            if pos < len(fr):
                out.append(fr[pos:])
        frags = out
    return frags


def build_bpe(meta):
    vocab = {t: i for i, t in enumerate(meta["tokens"])}
    merges = []
    for m in meta["merges"]:
        p = m.find(" ", 1)
        merges.append((m[:p], m[p + 1:]))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    if meta["pre"] == "qwen2":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(QWEN2_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    elif meta["pre"] == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
        ])
    else:
        raise SystemExit("unsupported pre-tokenizer " + str(meta["pre"]))
    tok.decoder = decoders.ByteLevel()
    return lambda s: tok.encode(s, add_special_tokens=False).ids


def build_spm(meta, workdir):
    proto = spm_pb2.ModelProto()
    type_map = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6}
    for i, (t, s, ty) in enumerate(zip(meta["tokens"], meta["scores"], meta["types"])):
        p = proto.pieces.add()
        p.piece = t
        p.score = s
        p.type = type_map.get(ty, 1)
        if i == meta["unknown_token_id"]:
            p.type = 2  # sentencepiece needs its unk piece typed UNKNOWN
    ts = proto.trainer_spec
    ts.model_type = spm_pb2.TrainerSpec.BPE
    ts.vocab_size = len(meta["tokens"])
    ts.byte_fallback = True
    ts.unk_id = meta["unknown_token_id"]
    ts.bos_id = meta["bos_token_id"]
    ts.eos_id = meta["eos_token_id"]
    ts.pad_id = meta["padding_token_id"]
    ns = proto.normalizer_spec
    ns.name = "identity"
    ns.add_dummy_prefix = False
    ns.remove_extra_whitespaces = False
    ns.escape_whitespaces = True
    path = os.path.join(workdir, "gemma_ref.model")
    with open(path, "wb") as f:
        f.write(proto.SerializeToString())
    sp = spm.SentencePieceProcessor(model_file=path)
    return lambda s: sp.encode(s)


def encode(meta, raw_encoder, text, parse_special):
    ids = []
    for fr in special_partition(text, meta, parse_special):
        if isinstance(fr, int):
            ids.append(fr)
        else:
            ids.extend(raw_encoder(fr))
    return ids


def cross_check_qwen(meta, cases, ids_by_case):
    try:
        from transformers.integrations.ggml import GGUFQwen2Converter
    except Exception as e:  # pragma: no cover
        print("transformers cross-check skipped: %s" % e, file=sys.stderr)
        return
    conv = GGUFQwen2Converter({"tokens": meta["tokens"], "merges": meta["merges"], "token_type": meta["types"]})
    hf = conv.converted()
    for (name, text, parse_special), ids in zip(cases, ids_by_case):
        if not parse_special:
            continue
        got = hf.encode(text, add_special_tokens=False).ids
        if got != ids:
            print("qwen25 / %s: transformers GGUF converter gives %s, reference gives %s" % (name, got, ids),
                  file=sys.stderr)


def swift_string(s):
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif o < 0x20 or o in (0x85, 0xa0, 0x2009, 0x3000) or 0x2000 <= o <= 0x200f:
            out.append("\\u{%x}" % o)
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def main():
    models_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/specdec/models")
    workdir = os.path.join(os.environ.get("TMPDIR", "/tmp"), "specdec-tokref")
    os.makedirs(workdir, exist_ok=True)
    lines = [
        "// GENERATED by tools/reference/tokenizer_reference.py; do not edit by hand.",
        "// Ids come from Hugging Face `tokenizers` (Qwen2, SmolLM2) and `sentencepiece` (Gemma 3),",
        "// after llama.cpp's special-token partition; see the script's docstring for the details.",
        "",
        "/// One reference tokenization.",
        "struct ReferenceCase: Sendable {",
        "    let name: String",
        "    let text: String",
        "    let parseSpecial: Bool",
        "    let ids: [Int32]",
        "}",
        "",
        "/// Reference tokenizations per model file.",
        "enum ReferenceTokenIDs {",
    ]
    for key, fname, extra in MODELS:
        path = os.path.join(models_dir, fname)
        meta = load(path)
        raw = build_spm(meta, workdir) if meta["model"] == "llama" else build_bpe(meta)
        cases = COMMON_CASES + extra + random_cases()
        all_ids = [encode(meta, raw, text, ps) for (_, text, ps) in cases]
        if key == "qwen25":
            cross_check_qwen(meta, cases, all_ids)
        lines.append("    /// `%s`" % fname)
        lines.append("    static let %s: [ReferenceCase] = [" % key)
        for (name, text, ps), ids in zip(cases, all_ids):
            lines.append("        ReferenceCase(name: %s, text: %s, parseSpecial: %s," % (
                json.dumps(name), swift_string(text), "true" if ps else "false"))
            lines.append("                      ids: %s)," % json.dumps(ids))
        lines.append("    ]")
    lines.append("}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
