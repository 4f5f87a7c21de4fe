#!/usr/bin/python3
"""Reference losses and gradients of Lethe's weight-editing unlearning methods (docs/methods.md §2.1, §3).

Writes tests/fixtures/unlearn/<case>.json (op fixtures, format in fixture_io.py) on the tiny Llama of
tests/fixtures/models/llama, forward by models_reference.llama_family_forward (one sequence at a time:
a right-padded row's real tokens never see its padding, so this equals Lethe's padded batch).

Each case: the trained tensors are the fixture model's tensors plus seeded noise ("value.<name>"),
the reference model is the unperturbed one (so NPO/DPO log-ratios are not zero); batches of token
ids with targets (-100 = not counted) and real lengths; the expected total loss ("loss"), its named
terms ("term.<name>") and the gradient of the total with respect to each trained tensor
("grad.<name>"). The losses are written here from the papers' formulas, independently of the C#:
  NLL mean over counted tokens; log pi(y|x) summed over counted tokens per sequence;
  KL(p_ref || p_theta) summed over the vocabulary, averaged over counted positions;
  NPO (2/b) mean softplus(b (logp - logp_ref)); SimNPO -(2/b) mean logsigmoid(b nll_sum/|y| - g);
  DPO -(2/b) mean logsigmoid(b ((w - l) - (w_ref - l_ref)));
  RMU mean over real tokens x d of (h_l - c u)^2 + alpha * mean (h_l - h_l_frozen)^2, with
  c = beta * mean token norm of the frozen h_l (Adaptive RMU per domain) or of each sequence (per sample).
Run: /usr/bin/python3 tools/reference/unlearn_losses_reference.py (deterministic, about a second).
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from fixture_io import read_safetensors, write_fixture  # noqa: E402
from models_reference import llama_family_forward  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
MODEL = os.path.join(ROOT, "tests", "fixtures", "models", "llama")
OUT = os.path.join(ROOT, "tests", "fixtures", "unlearn")
IGNORE = -100
NORMS = ["model.layers.0.input_layernorm.weight", "model.layers.1.post_attention_layernorm.weight", "model.norm.weight"]


def load():
    with open(os.path.join(MODEL, "config.json")) as f:
        config = json.load(f)
    spec = {"config": config, "family": "llama", "layer_windows": [None] * config["num_hidden_layers"]}
    return spec, read_safetensors(os.path.join(MODEL, "model.safetensors"))


def make_batch(gen, vocab, lengths, prompt_lengths, T):
    """Right-padded ids (pad 1), targets counted from the last prompt token on, as PromptAnswerSource makes them."""
    B = len(lengths)
    ids = torch.full((B, T), 1, dtype=torch.long)
    targets = torch.full((B, T), IGNORE, dtype=torch.long)
    for b in range(B):
        seq = torch.cat([torch.tensor([0]), torch.randint(2, vocab, (lengths[b],), generator=gen)])  # BOS + tokens
        n = min(T, len(seq))
        ids[b, :n] = seq[:n]
        for t in range(max(0, prompt_lengths[b] - 1), n):
            if t + 1 < len(seq):
                targets[b, t] = seq[t + 1]
    real = torch.tensor([min(T, lengths[b] + 1) for b in range(B)])
    return {"ids": ids, "targets": targets, "lengths": real}


def run(P, spec, batch, layer=None):
    """Per row: logits [len, V] (or the output of block `layer` [len, d]) of the real tokens."""
    out = []
    for b in range(batch["ids"].shape[0]):
        n = int(batch["lengths"][b])
        logits, blocks, _ = llama_family_forward(P, spec, batch["ids"][b, :n], {})
        out.append(blocks[layer] if layer is not None else logits)
    return out


def token_logps(P, spec, batch):
    """Per row: log p(target) at counted positions."""
    rows = []
    for b, logits in enumerate(run(P, spec, batch)):
        tg = batch["targets"][b, :logits.shape[0]]
        mask = tg != IGNORE
        lp = F.log_softmax(logits, dim=-1)[mask]
        rows.append(lp.gather(1, tg[mask].unsqueeze(1)).squeeze(1))
    return rows


def nll(P, spec, batch):
    lps = torch.cat(token_logps(P, spec, batch))
    return -lps.mean()


def seq_logp(P, spec, batch):
    return torch.stack([r.sum() for r in token_logps(P, spec, batch)])


def kl_to_ref(P, R, spec, batch):
    total, count = 0, 0
    cur, ref = run(P, spec, batch), run(R, spec, batch)
    for b in range(len(cur)):
        mask = batch["targets"][b, :cur[b].shape[0]] != IGNORE
        lp, lr = F.log_softmax(cur[b][mask], -1), F.log_softmax(ref[b][mask], -1).detach()
        total = total + (lr.exp() * (lr - lp)).sum()
        count += int(mask.sum())
    return total / count


def steer_mse(hs, targets):
    h = torch.cat(hs)
    t = torch.cat(targets)
    return ((h - t) ** 2).mean()


def case(name, method, params, trained, batches, loss_fn, gen, reference, spec, extra=None):
    P = dict(reference)
    values = {}
    for n in trained:
        values[n] = (reference[n] + 0.1 * torch.randn(reference[n].shape, generator=gen)).float()
        P[n] = values[n].clone().requires_grad_(True)
    total, terms = loss_fn(P)
    total.backward()
    tensors = {}
    for role, b in batches.items():
        tensors[f"{role}_ids"] = b["ids"]
        tensors[f"{role}_targets"] = b["targets"]
        tensors[f"{role}_lengths"] = b["lengths"]
    for k, v in (extra or {}).items():
        tensors[k] = v
    for n in trained:
        tensors[f"value.{n}"] = values[n]
    tensors["loss"] = total.detach().reshape(())
    for k, v in terms.items():
        tensors[f"term.{k}"] = v.detach().reshape(())
    for n in trained:
        tensors[f"grad.{n}"] = P[n].grad
    p = dict(params)
    p["method"] = method
    p["trained"] = trained
    path = write_fixture(os.path.join(OUT, f"{name}.json"), "unlearn_loss", p, tensors)
    print(f"{name:22s} loss {total.item():+.6f}  {os.path.getsize(path) / 1024:.1f} KiB")


def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    spec, R = load()
    vocab = spec["config"]["vocab_size"]
    gen = torch.Generator().manual_seed(12)
    T = 7
    forget = make_batch(gen, vocab, [7, 4], [1, 2], T)
    retain = make_batch(gen, vocab, [5, 7], [1, 1], T)
    idk = make_batch(gen, vocab, [3, 5], [2, 3], T)
    fr = {"forget": forget, "retain": retain}

    def ga(P):
        f = nll(P, spec, forget)
        return -f, {"forget_nll": f}
    case("ga", "ga", {}, NORMS, {"forget": forget}, ga, gen, R, spec)

    def graddiff(P):
        f, r = nll(P, spec, forget), nll(P, spec, retain)
        return -f + 1.5 * r, {"forget_nll": f, "retain_nll": r}
    case("graddiff", "graddiff", {"retain_weight": "1.5"}, NORMS, fr, graddiff, gen, R, spec)

    def graddiff_kl(P):
        f, k = nll(P, spec, forget), kl_to_ref(P, R, spec, retain)
        return -f + 0.7 * k, {"forget_nll": f, "retain_kl": k}
    case("graddiff_kl", "graddiff-kl", {"retain_weight": "0.7"}, NORMS, fr, graddiff_kl, gen, R, spec)

    def npo(P):
        beta = 0.1
        ratio = seq_logp(P, spec, forget) - seq_logp(R, spec, forget).detach()
        n = (2 / beta) * F.softplus(beta * ratio).mean()
        r = nll(P, spec, retain)
        return n + 0.5 * r, {"npo": n, "forget_nll": nll(P, spec, forget), "retain_nll": r}
    case("npo", "npo", {"beta": "0.1", "retain_weight": "0.5"}, NORMS, fr, npo, gen, R, spec)

    def simnpo(P):
        beta, gamma = 4.5, 0.3
        lens = torch.tensor([float(x.numel()) for x in token_logps(P, spec, forget)])
        s = -(2 / beta) * F.logsigmoid(beta * (-seq_logp(P, spec, forget)) / lens - gamma).mean()
        r = nll(P, spec, retain)
        return 0.125 * s + 1.0 * r, {"simnpo": s, "forget_nll": nll(P, spec, forget), "retain_nll": r}
    case("simnpo", "simnpo", {"beta": "4.5", "gamma": "0.3", "forget_weight": "0.125", "retain_weight": "1"}, NORMS, fr, simnpo, gen, R, spec)

    def dpo_of(win):
        def loss(P):
            beta = 0.1
            margin = (seq_logp(P, spec, win) - seq_logp(P, spec, forget)) - (seq_logp(R, spec, win) - seq_logp(R, spec, forget)).detach()
            d = -(2 / beta) * F.logsigmoid(beta * margin).mean()
            return d, {"dpo": d, "forget_nll": nll(P, spec, forget)}
        return loss
    case("dpo", "dpo", {"beta": "0.1", "retain_weight": "0"}, NORMS, fr, dpo_of(retain), gen, R, spec)

    def idkdpo(P):
        d, terms = dpo_of(idk)(P)
        r = nll(P, spec, retain)
        terms["retain_nll"] = r
        return d + r, terms
    case("idkdpo", "idkdpo", {"beta": "0.1", "retain_weight": "1"}, NORMS, {"forget": forget, "retain": retain, "refusal": idk}, idkdpo, gen, R, spec)

    d = spec["config"]["hidden_size"]
    u = torch.rand(d, generator=gen)
    u = u / u.norm()
    layer, alpha = 1, 50.0

    def rmu_of(coefficients):
        def loss(P):
            hf = run(P, spec, forget, layer)
            frozen_f = [h.detach() for h in run(R, spec, forget, layer)]
            cs = coefficients(frozen_f)
            f = steer_mse(hf, [c * u.expand(h.shape[0], d) for c, h in zip(cs, hf)])
            hr = run(P, spec, retain, layer)
            r = steer_mse(hr, [h.detach() for h in run(R, spec, retain, layer)])
            return f + alpha * r, {"forget_mse": f, "retain_mse": r}
        return loss
    rmu_params = {"layer": "1", "alpha": str(alpha)}
    case("rmu", "rmu", dict(rmu_params, steering="6.5"), ["model.layers.0.mlp.down_proj.weight", "model.layers.1.input_layernorm.weight"],
         fr, rmu_of(lambda hs: [6.5] * len(hs)), gen, R, spec, {"control": u})
    beta = 5.0
    per_domain = lambda hs: [beta * torch.cat(hs).norm(dim=-1).mean()] * len(hs)
    per_sample = lambda hs: [beta * h.norm(dim=-1).mean() for h in hs]
    case("adaptive_rmu_per_domain", "adaptive-rmu", dict(rmu_params, beta="5", adaptive="per-domain"), NORMS[:2], fr, rmu_of(per_domain), gen, R, spec, {"control": u})
    case("adaptive_rmu_per_sample", "adaptive-rmu", dict(rmu_params, beta="5", adaptive="per-sample"), NORMS[:2], fr, rmu_of(per_sample), gen, R, spec, {"control": u})


if __name__ == "__main__":
    main()
