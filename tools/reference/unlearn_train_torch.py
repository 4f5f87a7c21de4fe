#!/usr/bin/python3
"""PyTorch fp32 peer for `bench/Lethe.Bench -- unlearn-train`: RMU and NPO training steps on a
Llama checkpoint written by the Lethe bench (config.json + model.safetensors, f32), the loop a
PyTorch user would write, on the same shapes and hyper-parameters as Lethe's defaults.

    /usr/bin/python3 tools/reference/unlearn_train_torch.py MODEL_DIR rmu|npo THREADS REPS [LAYER]

rmu (WMDP's rmu/unlearn.py logic, Li et al. 2024): an updated model whose only trainable tensors
    are mlp.down_proj of layers l-2..l, a frozen model sharing every other weight; per step
    forget loss  = mse(h_l(updated, forget), c*u)   (u: one U[0,1) unit vector, c = 6.5)
    retain loss  = alpha * mse(h_l(updated, retain), h_l(frozen, retain))   (alpha = 1200)
    AdamW(lr 5e-5, eps 1e-6, no weight decay). WMDP's code runs the whole model and reads block l's
    output with a hook; this peer stops after block l, the work Lethe does, so the two compare the
    same arithmetic.
npo (Zhang et al. 2024): every weight trained, a frozen reference copy; per step
    loss = (2/beta) * mean_b softplus(beta * (log pi(y_b) - log pi_ref(y_b))), beta = 0.1,
    log pi summed over the sequence's next-token targets; clip 1.0, AdamW(lr 2e-5, wd 0.01).
Batches: 4 x 512 random token ids (forget and, for RMU, retain). Prints one JSON object:
{"case", "tok_s", "seconds", "cpu_seconds", "tokens_per_step", "peak_rss_mb"}; tokens per step counts every
sequence token the step reads (RMU: forget + retain batches).
Run with OPENBLAS_CORETYPE=SkylakeX (the bench sets it) or OpenBLAS misdetects this CPU.
"""
import json, os, resource, statistics, sys, time
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_model_torch import Llama, read_f32_safetensors  # noqa: E402

BATCH, SEQ = 4, 512


def main():
    model_dir, case, threads, reps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    layer = int(sys.argv[5]) if len(sys.argv) > 5 else 7
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = json.load(open(os.path.join(model_dir, "config.json")))
    weights = read_f32_safetensors(os.path.join(model_dir, "model.safetensors"))
    vocab, d = cfg["vocab_size"], cfg["hidden_size"]

    if case == "rmu":
        trained = [f"model.layers.{i}.mlp.down_proj.weight" for i in range(max(0, layer - 2), layer + 1)]
    elif case == "npo":
        trained = list(weights)
    else:
        raise SystemExit(f"unknown case {case}; use rmu or npo")
    frozen = Llama(cfg, weights)
    for p in frozen.parameters():
        p.requires_grad_(False)
    updated = Llama(cfg, {k: (v.clone() if k in trained else v) for k, v in weights.items()})
    params = []
    for name in weights:
        p = updated.w(name)
        p.requires_grad_(name in trained)
        if name in trained:
            params.append(p)

    def batch():
        return torch.randint(0, vocab, (BATCH, SEQ))

    if case == "rmu":
        opt = torch.optim.AdamW(params, lr=5e-5, eps=1e-6, weight_decay=0.0)
        u = torch.rand(1, 1, d)
        control = u / u.norm() * 6.5
        alpha = 1200.0
        tokens = 2 * BATCH * SEQ

        def step():
            forget, retain = batch(), batch()
            h_forget = updated(forget, stop_after=layer)
            unlearn_loss = F.mse_loss(h_forget, control.expand_as(h_forget))
            h_retain = updated(retain, stop_after=layer)
            with torch.no_grad():
                h_frozen = frozen(retain, stop_after=layer)
            retain_loss = F.mse_loss(h_retain, h_frozen) * alpha
            loss = unlearn_loss + retain_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
    else:
        opt = torch.optim.AdamW(params, lr=2e-5, eps=1e-8, weight_decay=0.01)
        head_ref, head = frozen.w("model.embed_tokens.weight"), updated.w("model.embed_tokens.weight")
        beta = 0.1
        tokens = BATCH * SEQ

        def seq_logprob(h, w, targets):
            logp = F.linear(h, w).log_softmax(-1)
            return logp.gather(-1, targets[:, :, None]).squeeze(-1).sum(-1)

        def step():
            window = torch.randint(0, vocab, (BATCH, SEQ + 1))   # 512 inputs, 512 next-token targets
            forget, targets = window[:, :-1], window[:, 1:]
            with torch.no_grad():
                ref = seq_logprob(frozen(forget), head_ref, targets)
            lp = seq_logprob(updated(forget), head, targets)
            loss = F.softplus(beta * (lp - ref)).mean() * (2 / beta)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()

    step()  # warm-up (allocator, Adam state)
    times, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    med = statistics.median(times)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"case": case, "tok_s": tokens / med, "seconds": med, "cpu_seconds": statistics.median(cpu), "tokens_per_step": tokens, "peak_rss_mb": round(peak, 1)}))


if __name__ == "__main__":
    main()
