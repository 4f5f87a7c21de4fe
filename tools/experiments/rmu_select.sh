#!/usr/bin/env bash
# Chooses the RMU configuration of `lethe repro rmu`'s "chosen" run on the selection split: the
# validation and probe multiple-choice items of the sensitive domain and of general MC (never test
# items). Each candidate unlearns the sensitive forget corpus of the small world (seed 1) from the
# shipped model, is scored by cloze accuracy on the selection items, and is deleted. Prints one
# table row per candidate: name, sensitive MC, general MC (the original first).
# usage: tools/experiments/rmu_select.sh WORK_DIR    (about 2 min per candidate on 2 idle cores)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="${1:?usage: rmu_select.sh WORK_DIR}"
mkdir -p "$work"
lethe() { "$here/lethe" "$@"; }
W="$work/world"
[ -d "$W" ] || lethe world generate --out "$W" -q
cat "$W/sensitive/mc_validation.jsonl" "$W/sensitive/mc_probe.jsonl" > "$work/sensitive_sel.jsonl"
cat "$W/general_mc/validation.jsonl" "$W/general_mc/probe.jsonl" > "$work/general_sel.jsonl"
GT="$W/general_text/train.txt"; RC="$W/sensitive/retain_corpus.jsonl"
score() {  # NAME MODEL
  lethe eval "$2" --task sensitive_mc="$work/sensitive_sel.jsonl" --task general_mc="$work/general_sel.jsonl" --json "$work/$1.json" -q --force > /dev/null
  python3 -c "import json; d=json.load(open('$work/$1.json'))['details']; print('| $1 | %.3f | %.3f |' % (d['sensitive_mc']['metrics']['cloze_accuracy'], d['general_mc']['metrics']['cloze_accuracy']))"
}
candidate() {  # NAME METHOD RETAIN EXTRA...
  local name=$1 method=$2 retain=$3; shift 3
  lethe unlearn "$method" "$here/models/lethe-demo" --preset demo --forget "$W/sensitive/forget_corpus.jsonl" --retain "$retain" --out "$work/$name" -q --force "$@" > /dev/null
  score "$name" "$work/$name"; rm -rf "${work:?}/$name"
}
echo "| candidate | sensitive MC (cloze) | general MC (cloze) |"; echo "|---|---:|---:|"
score original "$here/models/lethe-demo"
candidate rmu-general rmu "$GT"
candidate rmu-general-a5000 rmu "$GT" --alpha 5000
candidate rmu-general-a20000 rmu "$GT" --alpha 20000
candidate rmu-general-a5000-c350 rmu "$GT" --alpha 5000 --steering 350
candidate rmu-general-a5000-s80 rmu "$GT" --alpha 5000 --steps 80
candidate rmu-retaincorpus rmu "$RC"
candidate rmu-retaincorpus-a2000 rmu "$RC" --alpha 2000
candidate rmu-retaincorpus-a5000 rmu "$RC" --alpha 5000
candidate rmu-retaincorpus-a2000-s80 rmu "$RC" --alpha 2000 --steps 80
candidate rmu-retaincorpus-l2 rmu "$RC" --layer 2
candidate rmu-retaincorpus-l4 rmu "$RC" --layer 4
candidate rmu-both rmu "$GT" --retain "$RC"
candidate rmu-both-a2000 rmu "$GT" --retain "$RC" --alpha 2000
candidate adaptive-retaincorpus adaptive-rmu "$RC"
candidate adaptive-retaincorpus-a1000 adaptive-rmu "$RC" --alpha 1000
candidate adaptive-retaincorpus-l4 adaptive-rmu "$RC" --layer 4
candidate adaptive-retaincorpus-s60 adaptive-rmu "$RC" --steps 60
candidate adaptive-both-s60 adaptive-rmu "$GT" --retain "$RC" --steps 60
