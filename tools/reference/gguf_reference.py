#!/usr/bin/python3
"""An independent GGUF reader/writer and ggml block dequantizer (numpy), for Lethe's GGUF tests.

Written from ggml's documented block layouts (ggml-common.h / ggml-quants.c semantics, read, not
copied), vectorised with numpy so that it shares no structure with Lethe's scalar C# loops:

  Q8_0  32 values:  f16 d, int8 q[32]                 x = d * q
  Q4_0  32 values:  f16 d, uint8 qs[16]               x[j] = d * ((qs[j] & 15) - 8), x[j+16] = d * ((qs[j] >> 4) - 8)
  Q4_K 256 values:  f16 d, f16 dmin, uint8 scales[12], uint8 qs[128]
                    8 sub-blocks of 32 with a 6-bit scale sc and 6-bit min m packed in scales[12];
                    chunk c (64 values) uses sub-blocks 2c (low nibbles of qs[32c..32c+32]) and
                    2c+1 (high nibbles): x = (d*sc) * q - (dmin*m)
  Q6_K 256 values:  uint8 ql[128], uint8 qh[64], int8 scales[16], f16 d
                    two halves of 128; in half h, for l < 32, four 6-bit values (low 4 bits from ql,
                    high 2 bits from qh) land at l, l+32, l+64, l+96 with scales[8h + l//16 + 2k]:
                    x = (d * scale) * (q - 32)

Commands:
  gguf_reference.py fixtures     writes tests/fixtures/gguf/quant_blocks.gguf (random blocks of each
                                 type next to their dequantized values as F32 tensors, and a Q8_0
                                 quantisation of an F32 vector by the reference rule)
  gguf_reference.py stories      writes tests/fixtures/gguf/stories260K_reference.gguf: logits of the
                                 real stories260K.gguf for a token sequence from an independent
                                 float64 forward pass that runs on the file's own layout (llama.cpp's
                                 interleaved-pair RoPE on the permuted q/k rows, no un-permuting),
                                 and token ids of a few texts from a SentencePiece-style BPE by scores
                                 (highest-scoring adjacent pair merged first, leftmost on ties, bytes
                                 as <0xXX> fallback), as llama.cpp's "llama" tokenizer does
  gguf_reference.py dump FILE    prints the metadata (arrays shortened) and the tensor table

The fixture is deterministic (fixed seed); rerunning writes the same bytes.
"""
import struct
import sys
import os

import numpy as np

# ggml_type ids and (block size, bytes per block)
TYPES = {"F32": (0, 1, 4), "F16": (1, 1, 2), "Q4_0": (2, 32, 18), "Q8_0": (8, 32, 34),
         "Q4_K": (12, 256, 144), "Q6_K": (14, 256, 210), "BF16": (30, 1, 2)}
TYPE_NAMES = {v[0]: k for k, v in TYPES.items()}

# GGUF metadata value types
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
          U64: "<Q", I64: "<q", F64: "<d"}


# ---------------------------------------------------------------- dequantisation (numpy)

def f16(raw):
    return np.frombuffer(raw, dtype="<f2").astype(np.float32)


def deq_q8_0(b):
    blocks = np.frombuffer(b, dtype=np.uint8).reshape(-1, 34)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)
    q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
    return (d * q).reshape(-1)


def deq_q4_0(b):
    blocks = np.frombuffer(b, dtype=np.uint8).reshape(-1, 18)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)
    qs = blocks[:, 2:]
    q = np.concatenate([(qs & 15).astype(np.int32) - 8, (qs >> 4).astype(np.int32) - 8], axis=1)
    return (d * q.astype(np.float32)).reshape(-1)


def k4_scales_mins(s):
    """s: [n, 12] uint8 -> (sc, m) each [n, 8], the 6-bit values."""
    s = s.astype(np.int32)
    sc = np.empty((s.shape[0], 8), np.int32)
    m = np.empty((s.shape[0], 8), np.int32)
    sc[:, :4] = s[:, 0:4] & 63
    m[:, :4] = s[:, 4:8] & 63
    sc[:, 4:] = (s[:, 8:12] & 15) | ((s[:, 0:4] >> 6) << 4)
    m[:, 4:] = (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)
    return sc, m


def deq_q4_k(b):
    blocks = np.frombuffer(b, dtype=np.uint8).reshape(-1, 144)
    d = blocks[:, 0:2].copy().view("<f2").astype(np.float32)      # [n, 1]
    dmin = blocks[:, 2:4].copy().view("<f2").astype(np.float32)
    sc, m = k4_scales_mins(blocks[:, 4:16])
    qs = blocks[:, 16:].reshape(-1, 4, 32)                          # 4 chunks of 32 bytes
    q = np.stack([qs & 15, qs >> 4], axis=2).astype(np.float32)    # [n, 4, 2, 32]: sub-block 2c+k
    q = q.reshape(-1, 8, 32)
    scale = (d * sc.astype(np.float32))[:, :, None]                 # d*sc in float32
    offset = (dmin * m.astype(np.float32))[:, :, None]
    return (scale * q - offset).astype(np.float32).reshape(-1)


def deq_q6_k(b):
    blocks = np.frombuffer(b, dtype=np.uint8).reshape(-1, 210)
    ql = blocks[:, 0:128].reshape(-1, 2, 64).astype(np.int32)
    qh = blocks[:, 128:192].reshape(-1, 2, 32).astype(np.int32)
    scales = blocks[:, 192:208].copy().view(np.int8).astype(np.float32).reshape(-1, 2, 8)
    d = blocks[:, 208:210].copy().view("<f2").astype(np.float32)   # [n, 1]
    parts = [
        (ql[:, :, 0:32] & 15) | (((qh >> 0) & 3) << 4),
        (ql[:, :, 32:64] & 15) | (((qh >> 2) & 3) << 4),
        (ql[:, :, 0:32] >> 4) | (((qh >> 4) & 3) << 4),
        (ql[:, :, 32:64] >> 4) | (((qh >> 6) & 3) << 4),
    ]
    q = np.stack(parts, axis=2).astype(np.float32) - 32             # [n, 2 halves, 4 parts, 32]
    # part k of half h, position l uses scales[h, l//16 + 2k]
    sidx = np.array([[l // 16 + 2 * k for l in range(32)] for k in range(4)])  # [4, 32]
    s = scales[:, :, sidx]                                           # [n, 2, 4, 32]
    ds = d[:, :, None, None] * s                                     # d*scale in float32
    return (ds * q).astype(np.float32).reshape(-1)


DEQUANT = {"Q8_0": deq_q8_0, "Q4_0": deq_q4_0, "Q4_K": deq_q4_k, "Q6_K": deq_q6_k,
           "F32": lambda b: np.frombuffer(b, "<f4").astype(np.float32),
           "F16": lambda b: np.frombuffer(b, "<f2").astype(np.float32),
           "BF16": lambda b: (np.frombuffer(b, "<u2").astype(np.uint32) << 16).view(np.float32)}


def quantize_q8_0(x):
    """ggml's reference rule: d = max|x| / 127 (stored as f16), q = round-half-away(x * (1/d))."""
    x = x.astype(np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    inv = np.where(d != 0, np.float32(1) / np.where(d != 0, d, 1), 0).astype(np.float32)
    v = (x * inv[:, None]).astype(np.float64)  # the float32 product, then exact arithmetic
    q = np.trunc(v + np.copysign(0.5, v)).astype(np.int8)   # C roundf: halves away from zero
    out = bytearray()
    for i in range(x.shape[0]):
        out += np.float16(d[i]).tobytes() + q[i].tobytes()
    return bytes(out)


# ---------------------------------------------------------------- file format

def read_string(f):
    (n,) = struct.unpack("<Q", f.read(8))
    return f.read(n).decode("utf-8")


def read_value(f, t):
    if t == STR:
        return read_string(f)
    if t == ARR:
        (et, n) = struct.unpack("<IQ", f.read(12))
        return [read_value(f, et) for _ in range(n)]
    fmt = SCALAR[t]
    return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]


def read_gguf(path):
    with open(path, "rb") as f:
        magic, version, n_tensors, n_kv = struct.unpack("<4sIQQ", f.read(24))
        assert magic == b"GGUF" and version in (2, 3), (magic, version)
        meta = {}
        for _ in range(n_kv):
            key = read_string(f)
            (t,) = struct.unpack("<I", f.read(4))
            meta[key] = read_value(f, t)
        infos = []
        for _ in range(n_tensors):
            name = read_string(f)
            (nd,) = struct.unpack("<I", f.read(4))
            ne = list(struct.unpack(f"<{nd}Q", f.read(8 * nd)))
            t, off = struct.unpack("<IQ", f.read(12))
            infos.append((name, ne, TYPE_NAMES.get(t, t), off))
        align = meta.get("general.alignment", 32)
        start = (f.tell() + align - 1) // align * align
        f.seek(0)
        data = f.read()
    tensors = {}
    for name, ne, t, off in infos:
        _, bs, bb = TYPES[t]
        count = int(np.prod(ne))
        raw = data[start + off: start + off + count // bs * bb]
        tensors[name] = (t, ne, raw)
    return meta, tensors


def pack_string(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def pack_value(v):
    """(type, bytes) for a Python value: str, bool, int (i64 unless given as (type, value)), float (f32), list."""
    if isinstance(v, tuple):
        t, x = v
        return t, struct.pack(SCALAR[t], x)
    if isinstance(v, str):
        return STR, pack_string(v)
    if isinstance(v, bool):
        return BOOL, struct.pack("<?", v)
    if isinstance(v, int):
        return U32, struct.pack("<I", v)
    if isinstance(v, float):
        return F32, struct.pack("<f", v)
    if isinstance(v, list):
        et = pack_value(v[0])[0] if v else I32
        return ARR, struct.pack("<IQ", et, len(v)) + b"".join(pack_value(x)[1] for x in v)
    raise TypeError(type(v))


def write_gguf(path, meta, tensors, align=32):
    """tensors: list of (name, type name, ne (ggml order), raw bytes)."""
    out = bytearray(struct.pack("<4sIQQ", b"GGUF", 3, len(tensors), len(meta)))
    for k, v in meta.items():
        t, b = pack_value(v)
        out += pack_string(k) + struct.pack("<I", t) + b
    offset = 0
    offsets = []
    for name, t, ne, raw in tensors:
        offsets.append(offset)
        out += pack_string(name) + struct.pack("<I", len(ne)) + struct.pack(f"<{len(ne)}Q", *ne)
        out += struct.pack("<IQ", TYPES[t][0], offset)
        offset += (len(raw) + align - 1) // align * align
    out += b"\0" * ((-len(out)) % align)
    for (name, t, ne, raw), off in zip(tensors, offsets):
        out += raw + b"\0" * ((-len(raw)) % align)
    with open(path + ".tmp", "wb") as f:
        f.write(out)
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------- fixtures

def random_blocks(rng, t, nblocks):
    """Random quantised blocks whose f16 scales are finite, small and of both signs."""
    _, bs, bb = TYPES[t]
    raw = bytearray(rng.integers(0, 256, size=nblocks * bb, dtype=np.uint8).tobytes())
    def put_f16(pos, value):
        raw[pos:pos + 2] = np.float16(value).tobytes()
    for i in range(nblocks):
        base = i * bb
        if t in ("Q8_0", "Q4_0"):
            put_f16(base, rng.uniform(-0.05, 0.05))
        elif t == "Q4_K":
            put_f16(base, rng.uniform(0.0, 0.01))
            put_f16(base + 2, rng.uniform(0.0, 0.01))
        elif t == "Q6_K":
            put_f16(base + 208, rng.uniform(-0.01, 0.01))
    return bytes(raw)


def fixtures(root):
    rng = np.random.default_rng(20261203)
    tensors = []
    for t, nblocks in (("Q8_0", 8), ("Q4_0", 8), ("Q4_K", 2), ("Q6_K", 2)):
        _, bs, _ = TYPES[t]
        raw = random_blocks(rng, t, nblocks)
        n = nblocks * bs
        rows = 2
        ne = [n // rows, rows]
        values = DEQUANT[t](raw)
        assert values.shape == (n,) and np.isfinite(values).all()
        tensors.append((f"{t.lower()}.blocks", t, ne, raw))
        tensors.append((f"{t.lower()}.expected", "F32", ne, values.astype("<f4").tobytes()))
    halfs = rng.normal(0, 1, size=64).astype(np.float32)
    tensors.append(("f16.blocks", "F16", [32, 2], halfs.astype("<f2").tobytes()))
    tensors.append(("f16.expected", "F32", [32, 2], halfs.astype("<f2").astype("<f4").tobytes()))
    bf = (halfs.view(np.uint32) >> 16).astype("<u2")
    tensors.append(("bf16.blocks", "BF16", [32, 2], bf.tobytes()))
    tensors.append(("bf16.expected", "F32", [32, 2], (bf.astype(np.uint32) << 16).view(np.float32).astype("<f4").tobytes()))
    source = rng.normal(0, 0.3, size=128).astype(np.float32)
    source[5] = 0.0
    source[32:64] = 0.0  # an all-zero block: d = 0
    tensors.append(("q8_0.source", "F32", [64, 2], source.astype("<f4").tobytes()))
    tensors.append(("q8_0.quantized", "Q8_0", [64, 2], quantize_q8_0(source)))
    meta = {"general.architecture": "lethe-test", "general.name": "ggml block reference",
            "general.alignment": (U32, 32)}
    path = os.path.join(root, "tests", "fixtures", "gguf", "quant_blocks.gguf")
    write_gguf(path, meta, tensors)
    # self-check: what we wrote reads back identically
    m2, t2 = read_gguf(path)
    assert m2["general.name"] == meta["general.name"]
    for name, t, ne, raw in tensors:
        assert t2[name][2] == raw, name
    print(f"wrote {path} ({os.path.getsize(path)} bytes, {len(tensors)} tensors)")


def matrix(tensors, name):
    t, ne, raw = tensors[name]
    return DEQUANT[t](raw).astype(np.float64).reshape(ne[::-1])


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(axis=-1, keepdims=True) + eps) * w


def rope_pairs(x, positions, base):
    """x [T, heads, d]: rotate adjacent pairs (x[2i], x[2i+1]) by pos * base^(-2i/d) (llama.cpp's normal mode)."""
    d = x.shape[-1]
    inv = base ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    ang = positions[:, None] * inv[None, :]
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    a, b = x[..., 0::2], x[..., 1::2]
    out = np.empty_like(x)
    out[..., 0::2] = a * cos - b * sin
    out[..., 1::2] = a * sin + b * cos
    return out


def llama_logits(meta, tensors, ids):
    arch = meta["general.architecture"]
    nh, nkv = meta[f"{arch}.attention.head_count"], meta[f"{arch}.attention.head_count_kv"]
    eps = meta[f"{arch}.attention.layer_norm_rms_epsilon"]
    base = meta.get(f"{arch}.rope.freq_base", 10000.0)
    x = matrix(tensors, "token_embd.weight")[ids]
    T, dim = x.shape
    hd = dim // nh
    pos = np.arange(T, dtype=np.float64)
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for i in range(meta[f"{arch}.block_count"]):
        w = lambda n: matrix(tensors, f"blk.{i}.{n}.weight")
        h = rms_norm(x, w("attn_norm"), eps)
        q = rope_pairs((h @ w("attn_q").T).reshape(T, nh, hd), pos, base)
        k = rope_pairs((h @ w("attn_k").T).reshape(T, nkv, hd), pos, base)
        v = (h @ w("attn_v").T).reshape(T, nkv, hd)
        out = np.empty((T, nh, hd))
        for head in range(nh):
            kv = head // (nh // nkv)
            s = q[:, head] @ k[:, kv].T / np.sqrt(hd) + mask
            p = np.exp(s - s.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            out[:, head] = p @ v[:, kv]
        x = x + out.reshape(T, dim) @ w("attn_output").T
        h = rms_norm(x, w("ffn_norm"), eps)
        g = h @ w("ffn_gate").T
        x = x + ((g / (1 + np.exp(-g))) * (h @ w("ffn_up").T)) @ w("ffn_down").T
    x = rms_norm(x, matrix(tensors, "output_norm.weight"), eps)
    return x @ matrix(tensors, "output.weight").T


def spm_encode(text, tokens, scores):
    """SentencePiece BPE by scores with byte fallback (space prefix, spaces as U+2581)."""
    index = {t: i for i, t in enumerate(tokens)}
    symbols = list(("\u2581" + text.replace(" ", "\u2581")))
    while True:
        best = None
        for j in range(len(symbols) - 1):
            merged = symbols[j] + symbols[j + 1]
            if merged in index and (best is None or scores[index[merged]] > best[0]):
                best = (scores[index[merged]], j)
        if best is None:
            break
        j = best[1]
        symbols[j:j + 2] = [symbols[j] + symbols[j + 1]]
    ids = []
    for sym in symbols:
        if sym in index:
            ids.append(index[sym])
        else:
            ids.extend(index["<0x%02X>" % b] for b in sym.encode("utf-8"))
    return ids


STORIES_TEXTS = [
    "Once upon a time, there was a little girl named Lily.",
    "She said: \"I can't!\"  Tom ran   away.\nThe end",
    "caf\u00e9 na\u00efve \u4e16\u754c 42 \U0001F600 [ok]~",
    "  leading and trailing spaces  ",
]


def stories(root):
    src = os.path.join(root, "tests", "fixtures", "gguf", "stories260K.gguf")
    meta, tensors = read_gguf(src)
    tokens, scores = meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.scores"]
    ids = [1] + spm_encode("Once upon a time, there was a little", tokens, scores)
    logits = llama_logits(meta, tensors, ids).astype(np.float32)
    out_meta = {"general.architecture": "lethe-test", "general.name": "stories260K reference",
                "reference.ids": [(I32, i) for i in ids]}
    for n, text in enumerate(STORIES_TEXTS):
        out_meta[f"reference.text.{n}"] = text
        out_meta[f"reference.text_ids.{n}"] = [(I32, i) for i in spm_encode(text, tokens, scores)]
    path = os.path.join(root, "tests", "fixtures", "gguf", "stories260K_reference.gguf")
    write_gguf(path, out_meta, [("logits", "F32", [logits.shape[1], logits.shape[0]], logits.astype("<f4").tobytes())])
    greedy = int(np.argmax(logits[-1]))
    print(f"wrote {path}: {len(ids)} ids, next token {tokens[greedy]!r}")


def dump(path):
    meta, tensors = read_gguf(path)
    for k, v in meta.items():
        if isinstance(v, list):
            v = f"[{len(v)}] " + repr(v[:8])
        print(f"{k} = {v}")
    for name, (t, ne, raw) in tensors.items():
        print(f"{name} {t} {ne}")


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    if len(sys.argv) >= 2 and sys.argv[1] == "dump":
        dump(sys.argv[2])
    elif len(sys.argv) >= 2 and sys.argv[1] == "fixtures":
        fixtures(root)
    elif len(sys.argv) >= 2 and sys.argv[1] == "stories":
        stories(root)
    else:
        print(__doc__)
