#!/usr/bin/env python3
"""Markdown table of the Neuron Adjust cells in a skill-unlearning JSON (relative score after/before
per task, in %, with a 95 % paired bootstrap interval over items, 1,000 resamples, numpy seed 0).
Used for the extra-p runs that `lethe repro skill-unlearning --report-only` does not tabulate
(its table lists the grid's own p values). Usage: na_table.py RESULTS.json > TABLE.md"""
import json, sys
import numpy as np

d = json.load(open(sys.argv[1]))
before = d["before"]["items"]
tasks = list(before)
rng = np.random.default_rng(0)
print("| forget | method | " + " | ".join(t.replace("comprehension.", "") for t in tasks) + " |")
print("|---|---|" + "---:|" * len(tasks))
for key, cell in d["cells"].items():
    if "/na-" not in key:
        continue
    row = []
    for t in tasks:
        b = np.array([int(c) for c in before[t]], dtype=float)
        a = np.array([int(c) for c in cell["items"][t]], dtype=float)
        idx = rng.integers(0, len(b), size=(1000, len(b)))
        ratios = a[idx].sum(1) / np.maximum(b[idx].sum(1), 1e-12)
        lo, hi = np.percentile(ratios, [2.5, 97.5])
        cellText = f"{100 * a.sum() / b.sum():.0f}<br><sub>{100 * lo:.0f}–{100 * hi:.0f}</sub>"
        row.append(f"**{cellText}**" if t == cell["forget"] else cellText)
    print(f"| {cell['forget'].replace('comprehension.', '')} | {cell['label']} (seed {cell['seed']}) | " + " | ".join(row) + " |")
