#!/usr/bin/python3
"""PyTorch fp32 peer for `bench/Lethe.Bench -- model`: times a Llama-architecture checkpoint
written by the Lethe bench (config.json + model.safetensors, f32) on the same cases.

    /usr/bin/python3 tools/reference/bench_model_torch.py MODEL_DIR CASE THREADS REPS
CASE: forward (1x512 tokens), train (forward + backward + AdamW on 1x512), decode (128 new tokens
after a 128-token prompt, with a KV cache). Prints one JSON object: {"case", "tok_s", "seconds"}.
Eager PyTorch as a user would write it (matmul attention, torch 1.13 has no fused SDPA).
Run with OPENBLAS_CORETYPE=SkylakeX (the bench sets it) or OpenBLAS misdetects this CPU.
"""
import json, math, os, statistics, struct, sys, time
import torch
import torch.nn.functional as F



def read_f32_safetensors(path):
    """Zero-copy read of an F32 safetensors file (struct unpacking would be far too slow at 135M)."""
    with open(path, "rb") as handle:
        raw = bytearray(handle.read())
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len].decode("utf-8"))
    base, out = 8 + header_len, {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}; the peer reads F32 checkpoints only")
        start, end = info["data_offsets"]
        out[name] = torch.frombuffer(raw, dtype=torch.float32, offset=base + start, count=(end - start) // 4).reshape(info["shape"])
    return out


class Llama(torch.nn.Module):
    def __init__(self, cfg, weights):
        super().__init__()
        self.cfg = cfg
        self.p = torch.nn.ParameterDict({k.replace(".", "__"): torch.nn.Parameter(v) for k, v in weights.items()})
        hd = cfg["hidden_size"] // cfg["num_attention_heads"]
        inv = 1.0 / (cfg.get("rope_theta", 10000.0) ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
        pos = torch.arange(cfg["max_position_embeddings"], dtype=torch.float64)
        ang = torch.outer(pos, inv)
        emb = torch.cat([ang, ang], dim=-1)
        self.cos, self.sin = emb.cos().float(), emb.sin().float()
        self.hd = hd

    def w(self, name):
        return self.p[name.replace(".", "__")]

    @staticmethod
    def rms(x, w, eps):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w

    @staticmethod
    def rot(x):
        h = x.shape[-1] // 2
        return torch.cat([-x[..., h:], x[..., :h]], dim=-1)

    def forward(self, ids, cache=None, start=0, stop_after=None):
        """Final-normed hidden states [B, T, d]; with stop_after=l, the output of block l (no final norm)."""
        cfg, hd = self.cfg, self.hd
        H, KV, eps = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["rms_norm_eps"]
        B, T = ids.shape
        x = F.embedding(ids, self.w("model.embed_tokens.weight"))
        cos, sin = self.cos[start:start + T][None, None], self.sin[start:start + T][None, None]
        for i in range(cfg["num_hidden_layers"]):
            pre = f"model.layers.{i}."
            h = self.rms(x, self.w(pre + "input_layernorm.weight"), eps)
            q = F.linear(h, self.w(pre + "self_attn.q_proj.weight")).view(B, T, H, hd).transpose(1, 2)
            k = F.linear(h, self.w(pre + "self_attn.k_proj.weight")).view(B, T, KV, hd).transpose(1, 2)
            v = F.linear(h, self.w(pre + "self_attn.v_proj.weight")).view(B, T, KV, hd).transpose(1, 2)
            q = q * cos + self.rot(q) * sin
            k = k * cos + self.rot(k) * sin
            if cache is not None:
                ck, cv = cache[i]
                ck[:, :, start:start + T] = k
                cv[:, :, start:start + T] = v
                k, v = ck[:, :, :start + T], cv[:, :, :start + T]
            k = k.repeat_interleave(H // KV, dim=1)
            v = v.repeat_interleave(H // KV, dim=1)
            s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            S = k.shape[2]
            if T > 1:
                mask = torch.ones(T, S, dtype=torch.bool).triu(S - T + 1)
                s = s.masked_fill(mask, float("-inf"))
            a = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * hd)
            x = x + F.linear(a, self.w(pre + "self_attn.o_proj.weight"))
            h = self.rms(x, self.w(pre + "post_attention_layernorm.weight"), eps)
            m = F.silu(F.linear(h, self.w(pre + "mlp.gate_proj.weight"))) * F.linear(h, self.w(pre + "mlp.up_proj.weight"))
            x = x + F.linear(m, self.w(pre + "mlp.down_proj.weight"))
            if stop_after == i:
                return x
        x = self.rms(x, self.w("model.norm.weight"), eps)
        return x


def main():
    model_dir, case, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    weights = read_f32_safetensors(os.path.join(model_dir, "model.safetensors"))
    model = Llama(cfg, weights)
    head = model.w("model.embed_tokens.weight")
    vocab = cfg["vocab_size"]
    ids = torch.randint(0, vocab, (1, 512))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5) if case == "train" else None

    def forward():
        with torch.no_grad():
            h = model(ids)
            F.linear(h[:, -1:], head)
        return 512

    def train():
        opt.zero_grad()
        h = model(ids)
        logits = F.linear(h, head)
        loss = F.cross_entropy(logits[0, :-1], ids[0, 1:])
        loss.backward()
        opt.step()
        return 512

    def decode():
        KV, hd = cfg["num_key_value_heads"], model.hd
        cache = [(torch.zeros(1, KV, 256, hd), torch.zeros(1, KV, 256, hd)) for _ in range(cfg["num_hidden_layers"])]
        with torch.no_grad():
            prompt = ids[:, :128]
            h = model(prompt, cache, 0)
            tok = F.linear(h[:, -1], head).argmax(-1, keepdim=True)
            start = 128
            t0 = time.perf_counter()
            for _ in range(128):
                h = model(tok, cache, start)
                tok = F.linear(h[:, -1], head).argmax(-1, keepdim=True)
                start += 1
            return 128, time.perf_counter() - t0

    run = {"forward": forward, "train": train, "decode": decode}[case]
    run()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        r = run()
        if isinstance(r, tuple):
            tokens, seconds = r
        else:
            tokens, seconds = r, time.perf_counter() - t0
        times.append(seconds)
    med = statistics.median(times)
    print(json.dumps({"case": case, "tok_s": tokens / med, "seconds": med}))


if __name__ == "__main__":
    main()
