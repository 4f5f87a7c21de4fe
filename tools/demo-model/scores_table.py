#!/usr/bin/env python3
"""Prints the Markdown tables of MODEL_CARD.md from the files tools/demo-model/train.sh installs:
the final scores on the full test splits against the targets of docs/demo-world.md, and the
skill scores per checkpoint (first 50 test items per task) beside the training loss (stage 1 on
the pre-training corpus, stage 2 on the practice mix: the two losses are on different data).
Usage: tools/demo-model/scores_table.py [models/lethe-demo]"""
import json
import sys

folder = sys.argv[1] if len(sys.argv) > 1 else "models/lethe-demo"
scores = json.load(open(f"{folder}/scores.json"))
TARGETS = {"math": 0.70, "code": 0.50, **{f"comprehension.{l}": 0.70 for l in "en de es ar zh vi hi".split()},
           "general_mc": 0.80, "sensitive_mc": 0.80, "concept_qa": 0.70}

print("| task | test items | score | target | met |")
print("|---|---:|---:|---:|---|")
for name, value in scores["scores"].items():
    n = scores["details"][name]["n"]
    metric = scores["details"][name]["score"]
    target = TARGETS.get(name)
    shown = f"{value:.3f}" if value is not None else "n/a"
    print(f"| {name} ({metric}) | {n} | {shown} | {f'≥ {target:.2f}' if target else '–'} | {('yes' if value is not None and value >= target else '**no**') if target else '–'} |")

losses = {}
for line in open(f"{folder}/training_log.jsonl"):
    row = json.loads(line)
    losses[row["step"]] = row["loss"]
rows = [json.loads(l) for l in open(f"{folder}/checkpoint_scores.jsonl") if l.strip()]
if rows:
    names = list(rows[0]["scores"].keys())
    print()
    print("| stage | step | tokens (M) | loss (mean of 20 steps) | " + " | ".join(n.replace("comprehension.", "") for n in names) + " |")
    print("|---:|---:|---:|---:|" + "---:|" * len(names))
    for r in rows:
        step = r["step"]
        window = [losses[s] for s in range(step - 19, step + 1) if s in losses]
        loss = sum(window) / len(window) if window else float("nan")
        cells = " | ".join(f"{r['scores'][n]:.2f}" if r["scores"][n] is not None else "n/a" for n in names)
        print(f"| {r.get('stage', 1)} | {step} | {step * 16 * 256 / 1e6:.1f} | {loss:.3f} | {cells} |")
