#!/usr/bin/env python3
"""Per-item comparison of two `lethe eval --samples` files scored on the same items.

Usage: compare_samples.py BASE.samples.jsonl OTHER.samples.jsonl [--resamples 2000] [--seed 0]

For every task: items, the two scores, the paired difference in points (OTHER - BASE) with a 95 %
bootstrap interval over items, and how many items changed. Multiple-choice tasks are reported twice:
by letter (`correct`) and by cloze (`cloze_accuracy`). Perplexity is the mean per-document value
(lower is better), its difference in the same unit. Items are matched by their `place`; a file with
an item the other lacks is refused, so two runs on different data cannot be compared by mistake.
Used for issue 16's accuracy of q8_0 against f32 (docs/engine-int8.md).
"""
import json
import sys

import numpy as np


def load(path):
    # A place can hold several items (a concept's questions share its line): the k-th item of a
    # place in one file is matched with the k-th of the same place in the other.
    items, seen = {}, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            place = (d["task"], d["place"])
            k = seen[place] = seen.get(place, -1) + 1
            items[(d["task"], d["place"], k)] = d
    return items


def readings(task, d):
    """(reading name, value) pairs of one item: letter and cloze for multiple choice."""
    if task == "perplexity":
        return [("perplexity", float(d["value"]))]
    if "cloze_accuracy" in d:
        return [("letter", 1.0 if d["correct"] else 0.0), ("cloze", float(d["cloze_accuracy"]))]
    return [("", 1.0 if d["correct"] else 0.0)]


def main():
    args = sys.argv[1:]
    resamples, seed = 2000, 0
    if "--resamples" in args:
        i = args.index("--resamples"); resamples = int(args[i + 1]); del args[i:i + 2]
    if "--seed" in args:
        i = args.index("--seed"); seed = int(args[i + 1]); del args[i:i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    base, other = load(args[0]), load(args[1])
    if base.keys() != other.keys():
        missing = sorted(set(base) ^ set(other))[:3]
        sys.exit(f"the two files hold different items (e.g. {missing}); run both evals on the same world and --limit")
    rng = np.random.default_rng(seed)
    tasks = sorted({k[0] for k in base}, key=lambda t: (t == "perplexity", t))
    print("| task | items | base | other | Δ (95 % interval) | items that changed |")
    print("|---|---:|---:|---:|---|---:|")
    for task in tasks:
        keys = sorted(k for k in base if k[0] == task)
        rows = {}
        for k in keys:
            for (name, b), (_, o) in zip(readings(task, base[k]), readings(task, other[k])):
                rows.setdefault(name, []).append((b, o))
        for name, pairs in rows.items():
            a = np.array(pairs)
            diff = a[:, 1] - a[:, 0]
            idx = rng.integers(0, len(diff), size=(resamples, len(diff)))
            boot = diff[idx].mean(axis=1)
            lo, hi = np.percentile(boot, [2.5, 97.5])
            scale = 1.0 if task == "perplexity" else 100.0
            label = f"{task} ({name})" if name and task != "perplexity" else task
            changed = int((diff != 0).sum()) if task != "perplexity" else "—"
            fmt = "{:.4f}" if task == "perplexity" else "{:.3f}"
            d_fmt = "{:+.4f}" if task == "perplexity" else "{:+.1f}"
            print(f"| {label} | {len(diff)} | {fmt.format(a[:, 0].mean())} | {fmt.format(a[:, 1].mean())} | "
                  f"{d_fmt.format(diff.mean() * scale)} ({d_fmt.format(lo * scale)} to {d_fmt.format(hi * scale)}) | {changed} |")


if __name__ == "__main__":
    main()
