#!/usr/bin/env python3
"""The rule and the summaries of docs/results/rmu-fresh/PREREG.md and docs/results/rmu-shares/PREREG.md
(run by rmu_fresh.sh).

  rmu_fresh.py choose DIR [NAMES]           the selection table and the chosen candidate (DIR/choice.json);
                                            NAMES: comma-separated candidates (default A,B,C,D,E)
  rmu_fresh.py fresh-items W1 W2 W3 OUT     fresh comprehension test items of worlds W2, W3 not in world W1
  rmu_fresh.py summarize DIR NAME           NAME's languages on the fresh items, relative to the original, and,
                                            where DIR's tasks hold them, general MC (change) and sensitive MC

Items are read from `lethe eval --samples` files: multiple choice by its per-item cloze verdict,
comprehension by its `contains` verdict ("correct"). Each item's value is averaged over the seeds.
"""
import glob
import json
import os
import sys

import numpy as np

LANGS = ["en", "de", "es", "ar", "zh", "vi", "hi"]
CANDIDATES = ["A", "B", "C", "D", "E"]
SEEDS = [0, 1, 2]
RESAMPLES = 2000


def read_samples(path):
    """{task: {place: value}}."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            v = d["cloze_accuracy"] if d["task"].endswith("_mc") else float(d["correct"])
            out.setdefault(d["task"], {})[d["place"]] = v
    return out


def seed_mean(d, name):
    runs = [read_samples(os.path.join(d, f"{name}-s{s}.samples.jsonl")) for s in SEEDS]
    return {t: {p: float(np.mean([r[t][p] for r in runs])) for p in runs[0][t]} for t in runs[0]}, runs


def paired(before, after, task):
    places = sorted(before[task])
    return np.array([before[task][p] for p in places]), np.array([after[task][p] for p in places])


def boot_index(n, rng):
    return rng.integers(0, n, size=(RESAMPLES, n))


def margins(before, after):
    """The nine margins of the rule, each with its bootstrap standard error: {name: (m, se)}."""
    rng = np.random.default_rng(0)
    out = {}
    _, s = paired(before, after, "sensitive_mc")
    idx = boot_index(len(s), rng)
    out["sensitive"] = (0.30 - s.mean(), (0.30 - s[idx].mean(axis=1)).std())
    b, a = paired(before, after, "general_mc")
    idx = boot_index(len(a), rng)
    out["general"] = ((a - b).mean() + 0.03, ((a - b)[idx].mean(axis=1) + 0.03).std())
    for lang in LANGS:
        b, a = paired(before, after, f"comprehension.{lang}")
        idx = boot_index(len(a), rng)
        out[lang] = (a.mean() / b.mean() - 0.95, (a[idx].mean(axis=1) / b[idx].mean(axis=1) - 0.95).std())
    return out


def choose(d, names=None):
    candidates = names.split(",") if names else CANDIDATES
    before = read_samples(os.path.join(d, "original.samples.jsonl"))
    rows, best = {}, None
    print("| candidate | sensitive MC (seeds; mean) | general MC change (mean) | worst language (mean) | smallest z (margin) | eligible |")
    print("|---|---|---|---|---|---|")
    for name in candidates:
        after, runs = seed_mean(d, name)
        m = margins(before, after)
        z = {k: mv / se if se > 0 else float("inf") * np.sign(mv) for k, (mv, se) in m.items()}
        eligible = all(mv > 0 for mv, _ in m.values())
        worst_z = min(z, key=z.get)
        worst_lang = min(LANGS, key=lambda l: m[l][0])
        sens = [np.mean(list(r["sensitive_mc"].values())) for r in runs]
        gen_b = np.mean(list(before["general_mc"].values()))
        gen = [np.mean(list(r["general_mc"].values())) - gen_b for r in runs]
        rows[name] = {"margins": {k: {"margin": mv, "se": se, "z": z[k]} for k, (mv, se) in m.items()}, "eligible": eligible,
                      "smallest_z": z[worst_z], "smallest_z_at": worst_z,
                      "sensitive_seeds": sens, "general_change_seeds": gen}
        print(f"| {name} | {' / '.join(f'{x:.3f}' for x in sens)} ({np.mean(sens):.3f}) | "
              f"{' / '.join(f'{x:+.3f}' for x in gen)} ({np.mean(gen):+.3f}) | {worst_lang} {100 * (m[worst_lang][0] + 0.95):.1f} % | "
              f"{z[worst_z]:.2f} at {worst_z} ({m[worst_z][0]:+.3f} ± {m[worst_z][1]:.3f}) | {'yes' if eligible else 'no'} |")
        if eligible and (best is None or z[worst_z] > rows[best]["smallest_z"]):
            best = name
    print(f"\nchosen: {best if best else 'none (no candidate meets every margin)'}")
    with open(os.path.join(d, "choice.json"), "w") as f:
        json.dump({"chosen": best, "candidates": rows}, f, indent=1)


def contexts_of(world, lang):
    seen = set()
    for path in glob.glob(os.path.join(world, "comprehension", lang, "*.jsonl")):
        with open(path, encoding="utf-8") as f:
            seen.update(json.loads(line)["context"] for line in f)
    return seen


def fresh_items(w1, w2, w3, out):
    corpus_path = os.path.join(w1, "pretrain", "corpus.txt")
    corpus = open(corpus_path, encoding="utf-8").read() if os.path.exists(corpus_path) else ""
    tasks, report = [], {}
    for lang in LANGS:
        seen = contexts_of(w1, lang)
        kept, dropped, taken = [], 0, set()
        for w in (w2, w3):
            with open(os.path.join(w, "comprehension", lang, "test.jsonl"), encoding="utf-8") as f:
                for line in f:
                    item = json.loads(line)
                    c = item["context"]
                    if c in seen or c in taken or (corpus and c in corpus):
                        dropped += 1
                        continue
                    taken.add(c)
                    kept.append(line if line.endswith("\n") else line + "\n")
        path = os.path.join(out, f"fresh_{lang}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(kept)
        tasks += ["--task", f"comprehension.{lang}={path}"]
        report[lang] = {"items": len(kept), "dropped": dropped}
    with open(os.path.join(out, "tasks.txt"), "w") as f:
        f.write("\n".join(tasks) + "\n")
    with open(os.path.join(out, "fresh_items.json"), "w") as f:
        json.dump(report, f, indent=1)
    print("fresh items per language (kept, dropped as seen in world 1):", report)


def summarize(d, name):
    before = read_samples(os.path.join(d, "original.samples.jsonl"))
    after, runs = seed_mean(d, name)
    rng = np.random.default_rng(0)
    rows = {}
    print(f"| language | items | before | after, seeds 0 / 1 / 2 | relative (95 % interval) |")
    print("|---|---:|---:|---|---|")
    for lang in LANGS:
        t = f"comprehension.{lang}"
        b, a = paired(before, after, t)
        idx = boot_index(len(a), rng)
        rel = a[idx].mean(axis=1) / b[idx].mean(axis=1)
        lo, hi = np.percentile(rel, [2.5, 97.5])
        seeds = [np.mean(list(r[t].values())) for r in runs]
        rows[lang] = {"items": len(a), "before": b.mean(), "after_seeds": seeds, "after": a.mean(),
                      "relative": a.mean() / b.mean(), "interval": [lo, hi]}
        print(f"| {lang} | {len(a)} | {b.mean():.3f} | {' / '.join(f'{x:.3f}' for x in seeds)} | "
              f"{100 * a.mean() / b.mean():.1f} % ({100 * lo:.0f}–{100 * hi:.0f} %) |")
    for t in ("general_mc", "sensitive_mc"):
        if t not in before:
            continue
        b, a = paired(before, after, t)
        idx = boot_index(len(a), rng)
        seeds = [np.mean(list(r[t].values())) for r in runs]
        if t == "general_mc":  # the change, paired per item
            ch = (a - b)[idx].mean(axis=1)
            lo, hi = np.percentile(ch, [2.5, 97.5])
            rows[t] = {"items": len(a), "before": b.mean(), "after_seeds": seeds, "after": a.mean(), "change": (a - b).mean(), "interval": [lo, hi]}
            print(f"| general MC (cloze), change | {len(a)} | {b.mean():.3f} | {' / '.join(f'{x:.3f}' for x in seeds)} | "
                  f"{(a - b).mean():+.3f} ({lo:+.3f} to {hi:+.3f}) |")
        else:
            m = a[idx].mean(axis=1)
            lo, hi = np.percentile(m, [2.5, 97.5])
            rows[t] = {"items": len(a), "before": b.mean(), "after_seeds": seeds, "after": a.mean(), "interval": [lo, hi]}
            print(f"| sensitive MC (cloze), after | {len(a)} | {b.mean():.3f} | {' / '.join(f'{x:.3f}' for x in seeds)} | "
                  f"{a.mean():.3f} ({lo:.3f} to {hi:.3f}) |")
    with open(os.path.join(d, f"{name}.summary.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    {"choose": choose, "fresh-items": fresh_items, "summarize": summarize}[cmd](*args)
