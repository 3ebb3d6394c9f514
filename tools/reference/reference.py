#!/usr/bin/env python3
"""Independent numpy reference for SpecDec golden values.

A deliberately small, readable forward pass for GGUF models of architecture
`llama` (SmolLM2), `qwen2` (Qwen2.5 / Qwen2.5-Coder) and `gemma3` (Gemma 3 text).
Weights are dequantized with `gguf.quants.dequantize` (the gguf-py package from the
llama.cpp project) to float32; norms, RoPE and attention are computed in float64,
the big matrix products in float32.  Greedy decoding with a KV cache.

Nothing here is derived from the Swift code; the architecture details follow
llama.cpp (src/models/*.cpp, llama-model.cpp) and HF transformers.  See README.md.

usage: python3 tools/reference/reference.py --model PATH --name NAME --out DIR
"""
import argparse
import hashlib
import json
import math
import os
import re
import sys
import time

import numpy as np
import gguf
from gguf.quants import dequantize

N_GEN_DEFAULT = 32

# GGUF token types (llama.cpp / gguf-py TokenType); sentencepiece uses the same numbers.
TT_NORMAL, TT_UNKNOWN, TT_CONTROL, TT_USER_DEFINED, TT_UNUSED, TT_BYTE = 1, 2, 3, 4, 5, 6


# ----------------------------------------------------------------------------- GGUF
class GGUFFile:
    def __init__(self, path):
        self.path = path
        self.reader = gguf.GGUFReader(path)
        self.fields = self.reader.fields
        self.tensors = {t.name: t for t in self.reader.tensors}
        self.arch = self.get("general.architecture")

    def get(self, key, default=None):
        f = self.fields.get(key)
        return default if f is None else f.contents()

    def hp(self, key, default=None):
        """Architecture hyper-parameter, e.g. hp('block_count') -> '{arch}.block_count'."""
        return self.get(f"{self.arch}.{key}", default)

    def has(self, name):
        return name in self.tensors

    def weight(self, name, rows=None):
        """Dequantized tensor as float32 in numpy (row-major) order.

        A GGML tensor with shape ne = [n_in, n_out] is stored as n_out rows of n_in
        values, so the result has shape (n_out, n_in), i.e. y = W @ x.  `rows` selects
        rows before dequantizing (used for embedding look-ups)."""
        t = self.tensors[name]
        data = t.data if rows is None else t.data[rows]
        w = dequantize(data, t.tensor_type).astype(np.float32, copy=False)
        if rows is None:
            w = w.reshape(tuple(int(d) for d in reversed(t.shape)))
        return w


# ----------------------------------------------------------------------------- math
def rms_norm(x, w, eps):
    """x: (..., n) float64; w: (n,).  y = x / sqrt(mean(x^2) + eps) * w."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * w


def silu(x):
    return x / (1.0 + np.exp(-x))


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def rope(x, pos, n_rot, base, neox):
    """Rotary embedding as in ggml_rope_ext (freq_scale 1, no YaRN).

    x: (T, H, D) float64, pos: (T,) positions.  theta_i = pos * base^(-2i/n_rot),
    i in [0, n_rot/2).  neox=False ("normal", llama): rotate pairs (2i, 2i+1);
    neox=True (qwen2, gemma3): rotate pairs (i, i + n_rot/2).  Dims >= n_rot pass."""
    half = n_rot // 2
    inv_freq = base ** (-np.arange(half, dtype=np.float64) * 2.0 / n_rot)
    ang = pos.astype(np.float64)[:, None] * inv_freq[None, :]  # (T, half)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    out = x.copy()
    if neox:
        a, b = x[..., :half], x[..., half:n_rot]
        out[..., :half] = a * cos - b * sin
        out[..., half:n_rot] = a * sin + b * cos
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = a * cos - b * sin
        out[..., 1:n_rot:2] = a * sin + b * cos
    return out


MATMUL_F64 = False  # --matmul-f64: cross-check mode, products in float64 (slower)


def matmul(x, w):
    """x: (T, n_in) float64 -> (T, n_out) with weights w (n_out, n_in) stored as float32.

    Default: float32 product (BLAS sgemm).  With MATMUL_F64 the dequantized weights are
    promoted to float64, so the only remaining error is the quantization itself."""
    if MATMUL_F64:
        return x @ w.T.astype(np.float64)
    return (x.astype(np.float32) @ w.T).astype(np.float64)


# ----------------------------------------------------------------------------- model
class Model:
    def __init__(self, g: GGUFFile):
        self.g = g
        arch = g.arch
        if arch not in ("llama", "qwen2", "gemma3"):
            raise SystemExit(f"unsupported architecture {arch!r}")
        self.arch = arch
        self.n_layer = g.hp("block_count")
        self.n_embd = g.hp("embedding_length")
        self.n_head = g.hp("attention.head_count")
        self.n_head_kv = g.hp("attention.head_count_kv", self.n_head)
        self.head_dim = g.hp("attention.key_length", self.n_embd // self.n_head)
        self.head_dim_v = g.hp("attention.value_length", self.head_dim)
        self.n_rot = g.hp("rope.dimension_count", self.head_dim)
        self.eps = float(g.hp("attention.layer_norm_rms_epsilon"))
        self.freq_base = float(g.hp("rope.freq_base", 10000.0))
        # llama.cpp llama_model_rope_type(): LLAMA -> NORM, QWEN2/GEMMA3 -> NEOX
        self.neox = arch in ("qwen2", "gemma3")
        for k in ("rope.scaling.type", "rope.scaling.factor", "rope.freq_scale"):
            if g.hp(k) is not None:
                raise SystemExit(f"rope scaling key {arch}.{k} present: not implemented")
        if g.hp("final_logit_softcapping") or g.hp("attn_logit_softcapping"):
            raise SystemExit("logit softcapping present in metadata: not implemented")

        # llama.cpp: kq_scale = 1/sqrt(n_embd_head_k); gemma3 (non-27B): f_attention_scale
        # = 1/sqrt(n_embd_head_k) too (== 1/sqrt(query_pre_attn_scalar) for 270M).
        self.attn_scale = 1.0 / math.sqrt(self.head_dim)

        # Gemma 3: 5 sliding-window (local, rope base 10000) layers then 1 global layer.
        self.swa_window = g.hp("attention.sliding_window") if arch == "gemma3" else None
        self.layer_is_swa = [arch == "gemma3" and (il % 6) < 5 for il in range(self.n_layer)]
        self.layer_base = [10000.0 if s else self.freq_base for s in self.layer_is_swa]

        t0 = time.time()
        self.layers = [self._load_layer(il) for il in range(self.n_layer)]
        f64 = lambda n: g.weight(n).astype(np.float64)
        self.output_norm = f64("output_norm.weight")
        # tied embeddings: no output.weight -> reuse token_embd.weight
        self.output = g.weight("output.weight" if g.has("output.weight") else "token_embd.weight")
        self.n_vocab = self.output.shape[0]
        print(f"[load] {arch}: {self.n_layer} layers, d={self.n_embd}, heads={self.n_head}/{self.n_head_kv}, "
              f"head_dim={self.head_dim}, n_rot={self.n_rot}, neox={self.neox}, base={self.freq_base}, "
              f"eps={self.eps}, vocab={self.n_vocab}, tied={not g.has('output.weight')} "
              f"({time.time() - t0:.1f}s)", file=sys.stderr)

    def _load_layer(self, il):
        g, p = self.g, f"blk.{il}."
        names = {"wq": "attn_q.weight", "wk": "attn_k.weight", "wv": "attn_v.weight",
                 "wo": "attn_output.weight", "w_gate": "ffn_gate.weight",
                 "w_up": "ffn_up.weight", "w_down": "ffn_down.weight"}
        L = {k: g.weight(p + v) for k, v in names.items()}
        for k, v in {"attn_norm": "attn_norm.weight", "ffn_norm": "ffn_norm.weight",
                     "bq": "attn_q.bias", "bk": "attn_k.bias", "bv": "attn_v.bias",
                     "q_norm": "attn_q_norm.weight", "k_norm": "attn_k_norm.weight",
                     "post_attn_norm": "post_attention_norm.weight",
                     "post_ffn_norm": "post_ffw_norm.weight"}.items():
            L[k] = g.weight(p + v).astype(np.float64) if g.has(p + v) else None
        return L

    def embed(self, tokens):
        x = self.g.weight("token_embd.weight", rows=np.asarray(tokens)).astype(np.float64)
        if self.arch == "gemma3":
            x = x * math.sqrt(self.n_embd)  # llama.cpp: ggml_scale(inpL, sqrtf(n_embd))
        return x

    def new_cache(self):
        return [{"k": np.zeros((self.n_head_kv, 0, self.head_dim)),
                 "v": np.zeros((self.n_head_kv, 0, self.head_dim_v))} for _ in range(self.n_layer)]

    def attention(self, il, x, pos, cache):
        L, T = self.layers[il], x.shape[0]
        q, k, v = matmul(x, L["wq"]), matmul(x, L["wk"]), matmul(x, L["wv"])
        if L["bq"] is not None:  # qwen2 QKV bias
            q, k, v = q + L["bq"], k + L["bk"], v + L["bv"]
        q = q.reshape(T, self.n_head, self.head_dim)
        k = k.reshape(T, self.n_head_kv, self.head_dim)
        v = v.reshape(T, self.n_head_kv, self.head_dim_v)
        if L["q_norm"] is not None:  # gemma3 per-head RMSNorm before RoPE
            q = rms_norm(q, L["q_norm"], self.eps)
            k = rms_norm(k, L["k_norm"], self.eps)
        base = self.layer_base[il]
        q = rope(q, pos, self.n_rot, base, self.neox)
        k = rope(k, pos, self.n_rot, base, self.neox)

        c = cache[il]
        c["k"] = np.concatenate([c["k"], k.transpose(1, 0, 2)], axis=1)  # (Hkv, S, D)
        c["v"] = np.concatenate([c["v"], v.transpose(1, 0, 2)], axis=1)
        S = c["k"].shape[1]
        kpos = np.arange(S)
        # mask: causal, plus sliding window (llama.cpp SWA_STANDARD: masked if q - k >= window)
        allowed = kpos[None, :] <= pos[:, None]
        if self.layer_is_swa[il]:
            allowed &= (pos[:, None] - kpos[None, :]) < self.swa_window

        group = self.n_head // self.n_head_kv  # GQA: query head h uses kv head h // group
        out = np.empty((T, self.n_head, self.head_dim_v))
        for h in range(self.n_head):
            kh, vh = c["k"][h // group], c["v"][h // group]
            s = (q[:, h, :] @ kh.T) * self.attn_scale          # (T, S)
            s = np.where(allowed, s, -np.inf)
            s = np.exp(s - s.max(axis=-1, keepdims=True))
            s /= s.sum(axis=-1, keepdims=True)
            out[:, h, :] = s @ vh
        return matmul(out.reshape(T, -1), L["wo"])

    def ffn(self, il, x):
        L = self.layers[il]
        act = gelu_tanh if self.arch == "gemma3" else silu
        return matmul(act(matmul(x, L["w_gate"])) * matmul(x, L["w_up"]), L["w_down"])

    def forward(self, tokens, pos0, cache):
        """Run tokens at positions pos0.. ; returns logits (n_vocab,) of the last one."""
        pos = np.arange(pos0, pos0 + len(tokens))
        x = self.embed(tokens)
        for il, L in enumerate(self.layers):
            h = self.attention(il, rms_norm(x, L["attn_norm"], self.eps), pos, cache)
            if L["post_attn_norm"] is not None:  # gemma3: norm attention output before residual
                h = rms_norm(h, L["post_attn_norm"], self.eps)
            x = x + h
            h = self.ffn(il, rms_norm(x, L["ffn_norm"], self.eps))
            if L["post_ffn_norm"] is not None:
                h = rms_norm(h, L["post_ffn_norm"], self.eps)
            x = x + h
        x = rms_norm(x[-1:], self.output_norm, self.eps)
        return matmul(x, self.output)[0]


# ----------------------------------------------------------------------------- tokenizer
class Tokenizer:
    """Tokenizer built from the GGUF vocabulary, independently of the Swift code.

    Text is first split on CONTROL / USER_DEFINED token strings (longest first, as
    llama.cpp's tokenizer_st_partition does with parse_special=true); the remaining
    fragments are encoded by
      * gpt2-type vocab (Qwen, SmolLM2): HF transformers' GGUF tokenizer conversion
        (AutoTokenizer.from_pretrained(dir, gguf_file=...)), byte-level BPE on the GGUF
        merges; SmolLM2 ('smollm' pre-tokenizer) additionally splits digits individually.
      * llama-type (SentencePiece) vocab (Gemma): a sentencepiece BPE ModelProto built
        from the GGUF tokens/scores/types (no dummy prefix, spaces -> U+2581, byte
        fallback), i.e. highest-score-merge-first BPE like llama.cpp's SPM tokenizer.
    """

    def __init__(self, g: GGUFFile):
        self.kind = g.get("tokenizer.ggml.model")
        self.tokens = g.get("tokenizer.ggml.tokens")
        self.types = g.get("tokenizer.ggml.token_type")
        self.bos_id = g.get("tokenizer.ggml.bos_token_id")
        self.eos_id = g.get("tokenizer.ggml.eos_token_id")
        add_bos = g.get("tokenizer.ggml.add_bos_token")
        # llama.cpp default when the key is absent: SPM adds BOS, BPE (gpt2) does not
        self.add_bos = bool(add_bos) if add_bos is not None else (self.kind == "llama")
        self.token_to_id = {t: i for i, t in enumerate(self.tokens)}
        special = [i for i, ty in enumerate(self.types) if ty in (TT_CONTROL, TT_USER_DEFINED)]
        self.special = sorted(special, key=lambda i: -len(self.tokens[i].encode("utf-8")))
        if self.kind == "gpt2":
            self._init_hf(g)
        elif self.kind == "llama":
            self._init_spm(g)
        else:
            raise SystemExit(f"unsupported tokenizer model {self.kind!r}")

    def _init_hf(self, g):
        # transformers 4.x only imports torch for tensors; the tokenizer path needs only gguf.
        import transformers.modeling_gguf_pytorch_utils as gguf_utils
        gguf_utils.is_torch_available = lambda: True
        from transformers import AutoTokenizer
        from tokenizers import normalizers, pre_tokenizers
        d, f = os.path.split(os.path.abspath(g.path))
        self.hf = AutoTokenizer.from_pretrained(d, gguf_file=f)
        # llama.cpp does not Unicode-normalize (HF's Qwen2 converter would add NFC)
        self.hf.backend_tokenizer.normalizer = normalizers.Sequence([])
        if g.get("tokenizer.ggml.pre") == "smollm":  # llama.cpp regex: "\p{N}" then gpt2 regex
            self.hf.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
        self._encode_fragment = lambda s: self.hf.encode(s, add_special_tokens=False)

    def _init_spm(self, g):
        import sentencepiece as spm
        from sentencepiece import sentencepiece_model_pb2 as pb
        if g.get("tokenizer.ggml.add_space_prefix", True):
            raise SystemExit("SPM vocab with add_space_prefix=true not implemented")
        unk = g.get("tokenizer.ggml.unknown_token_id")
        scores = g.get("tokenizer.ggml.scores")
        m = pb.ModelProto()
        m.trainer_spec.model_type = pb.TrainerSpec.BPE
        m.trainer_spec.byte_fallback = True
        m.trainer_spec.unk_id = unk
        m.trainer_spec.bos_id = self.bos_id
        m.trainer_spec.eos_id = self.eos_id
        m.trainer_spec.pad_id = g.get("tokenizer.ggml.padding_token_id", -1)
        m.normalizer_spec.name = "identity"
        m.normalizer_spec.add_dummy_prefix = False
        m.normalizer_spec.remove_extra_whitespaces = False
        m.normalizer_spec.escape_whitespaces = True
        for i, (piece, score, ty) in enumerate(zip(self.tokens, scores, self.types)):
            sp = m.pieces.add()
            sp.piece, sp.score = piece, float(score)
            sp.type = TT_UNKNOWN if i == unk else ty  # sentencepiece needs exactly one UNKNOWN
        self.sp = spm.SentencePieceProcessor(model_proto=m.SerializeToString())
        self._encode_fragment = lambda s: self.sp.encode(s)

    def encode(self, text, add_bos=None):
        add_bos = self.add_bos if add_bos is None else add_bos
        frags = [text]  # str = raw text, int = special token id
        for tid in self.special:
            tok, out = self.tokens[tid], []
            for fr in frags:
                if isinstance(fr, int) or tok not in fr:
                    out.append(fr)
                    continue
                parts = fr.split(tok)
                for j, part in enumerate(parts):
                    if j:
                        out.append(tid)
                    if part:
                        out.append(part)
            frags = out
        ids = [self.bos_id] if add_bos else []
        for fr in frags:
            ids.extend([fr] if isinstance(fr, int) else self._encode_fragment(fr))
        return ids

    def decode(self, ids):
        if self.kind == "gpt2":
            return self.hf.decode(ids, skip_special_tokens=False)
        out = bytearray()
        for i in ids:
            piece = self.tokens[i]
            if self.types[i] == TT_BYTE:
                out.append(int(piece[3:5], 16))
            else:
                out += piece.replace("\u2581", " ").encode("utf-8")
        return out.decode("utf-8", errors="replace")


# ----------------------------------------------------------------------------- prompts
def chat_prompt(g: GGUFFile, tok: Tokenizer, user):
    if "<start_of_turn>" in tok.token_to_id:  # Gemma
        return f"<start_of_turn>user\n{user}<end_of_turn>\n<start_of_turn>model\n", "gemma turns, no system"
    if "<|im_start|>" in tok.token_to_id:  # ChatML
        if g.arch == "qwen2":
            system = "You are a helpful assistant."
            note = "ChatML, system 'You are a helpful assistant.'"
        else:  # SmolLM2: default system prompt of the GGUF chat template, if it has one
            m = re.search(r"<\|im_start\|>system\n(.*?)<\|im_end\|>", g.get("tokenizer.chat_template") or "")
            system = m.group(1) if m else None
            note = f"ChatML, system from GGUF chat_template default: {system!r}"
        sys_part = f"<|im_start|>system\n{system}<|im_end|>\n" if system else ""
        return f"{sys_part}<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n", note
    raise SystemExit("no known chat format for this vocabulary")


def build_prompts(g, tok):
    chat, chat_note = chat_prompt(g, tok, "Write a haiku about the sea.")
    return [
        ("plain", "The capital of France is", None),
        ("code", 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n', None),
        ("chat", chat, chat_note),
        ("unicode", "Café au lait, naïve Zürich — 東京の天気は晴れです。🙂 Translate to English:", None),
    ]


# ----------------------------------------------------------------------------- main
def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    return h.hexdigest()


def stats(x):
    return {"mean": float(np.mean(x)), "std": float(np.std(x))}


def run_prompt(model, prompt_tokens, n_gen):
    """Prefill the prompt, then n_gen greedy steps (no EOS stop)."""
    cache = model.new_cache()
    logits = model.forward(prompt_tokens, 0, cache)
    first = logits
    tokens, margins = [], []
    for step in range(n_gen):
        order = np.argsort(-logits, kind="stable")  # ties -> lowest id
        tokens.append(int(order[0]))
        margins.append(float(logits[order[0]] - logits[order[1]]))
        if step + 1 < n_gen:
            logits = model.forward([tokens[-1]], len(prompt_tokens) + step, cache)
    return first, logits, tokens, margins


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="path to the .gguf file")
    ap.add_argument("--name", required=True, help="model name used for the output file")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--n-gen", type=int, default=N_GEN_DEFAULT)
    ap.add_argument("--prompts", default=None, help="comma-separated subset of prompt names")
    ap.add_argument("--matmul-f64", action="store_true", help="float64 matrix products (cross-check)")
    args = ap.parse_args()
    global MATMUL_F64
    MATMUL_F64 = args.matmul_f64

    t0 = time.time()
    g = GGUFFile(args.model)
    tok = Tokenizer(g)
    print(f"[tok] {tok.kind} vocab={len(tok.tokens)} add_bos={tok.add_bos} ({time.time() - t0:.1f}s)", file=sys.stderr)
    model = Model(g)

    result = {
        "model": args.name,
        "sha256": sha256_file(args.model),
        "reference": "tools/reference/reference.py (numpy float32, gguf dequantize)",
        "matmul_precision": "float64" if MATMUL_F64 else "float32",
        "architecture": g.arch,
        "n_gen": args.n_gen,
        "notes": ("greedy = argmax (ties -> lowest id), no stop at EOS; margins = top1 - top2 logit "
                  "at each step; top5 / first_step_logits_sample / first_step_logits_stats are the "
                  "logits after the prompt (step 1); last_logits_stats are the logits of the final "
                  "step (the ones that chose greedy_tokens[-1])."),
        "prompts": [],
    }
    wanted = set(args.prompts.split(",")) if args.prompts else None
    for name, text, note in build_prompts(g, tok):
        if wanted and name not in wanted:
            continue
        t1 = time.time()
        ptoks = tok.encode(text)
        first, last, gen, margins = run_prompt(model, ptoks, args.n_gen)
        top5 = np.argsort(-first, kind="stable")[:5]
        entry = {
            "name": name,
            "text": text,
            "add_bos": tok.add_bos,
            "prompt_tokens": ptoks,
            "greedy_tokens": gen,
            "greedy_text": tok.decode(gen),
            "greedy_margins": margins,
            "min_margin": min(margins),
            "top5": [{"id": int(i), "logit": float(first[i])} for i in top5],
            "first_step_logits_sample": [float(v) for v in first[:64]],
            "first_step_logits_stats": stats(first),
            "last_logits_stats": stats(last),
        }
        if note:
            entry["template_note"] = note
        result["prompts"].append(entry)
        print(f"[{name}] {len(ptoks)} prompt tokens, {time.time() - t1:.1f}s, min margin {min(margins):.4f}\n"
              f"  prompt: {text!r}\n  tokens: {ptoks}\n  greedy: {gen}\n  text:   {tok.decode(gen)!r}",
              file=sys.stderr)

    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"{args.name}.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {path} ({time.time() - t0:.1f}s total)", file=sys.stderr)


if __name__ == "__main__":
    main()
