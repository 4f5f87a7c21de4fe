#!/usr/bin/env bash
# Neuron Adjust's dose-response on the shipped model (issue 11: "forgetting grows with p"). [S1]'s p
# (0.5-3 %) barely moves this 7 M model, so each skill's three p are chosen on the validation split:
#   1. a sweep, seed 0, p in {1.5, 3, 5, 10, 15, 20, 30, 40, 50} %, scored on the validation splits;
#   2. per skill, among all triples p1 < p2 < p3 of the sweep, the one with the largest smallest step
#      min(r(p1) - r(p2), r(p2) - r(p3)) of the forgotten skill's validation relative score r (ties:
#      the smaller p's), so that each neighbour has the most room to differ;
#   3. those p, seeds 0-2, scored on the full test splits (the grid's own growth check).
# usage: tools/experiments/na_dose.sh OUT [SWEEP_DIR]   (≈ 40 s per sweep cell, 70 s per test cell, one thread)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${1:?usage: na_dose.sh OUT [SWEEP_DIR]}"
sweep="${2:-$out/validation-sweep}"
"$here/lethe" repro skill-unlearning --split validation --na-seeds 1 --methods na \
  --percent 1.5,3,5,10,15,20,30,40,50 --out "$sweep" --threads 1 --resume
percents="$(python3 - "$sweep/skill-unlearning.json" <<'PY'
import itertools, json, sys
cells = json.load(open(sys.argv[1]))["cells"]
sweep = [1.5, 3, 5, 10, 15, 20, 30, 40, 50]
skills = ["math", "code"] + ["comprehension." + l for l in "en de es ar zh vi hi".split()]
def r(s, p): return cells[f"{s}/na-{p:g}/seed0"]["relative"][s]
def step(s, t): return round(min(r(s, t[0]) - r(s, t[1]), r(s, t[1]) - r(s, t[2])), 9)
best = {s: max(itertools.combinations(sweep, 3), key=lambda t: (step(s, t), [-x for x in t])) for s in skills}
print(";".join(f"{s}={','.join(f'{p:g}' for p in t)}" for s, t in best.items()))
PY
)"
echo "chosen on validation: $percents" >&2
"$here/lethe" repro skill-unlearning --methods na --percent "$percents" --out "$out" --threads 1 --resume
