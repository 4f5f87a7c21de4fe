#!/usr/bin/env bash
# Trains the shipped demo model (models/lethe-demo/) from nothing, with Lethe only, and installs it:
#   1. the full demo world (seed 1): its pre-training corpus (pretrain/corpus.txt) is the stage-1
#      data, its practice mix (pretrain/practice.txt, corpus documents only) the stage-2 data;
#   2. a 4,096-token byte-level BPE tokenizer trained on that corpus (<s> put first on encoding);
#   3. stage 1: a 7 M-parameter Llama (tools/demo-model/config.json) trained from random weights
#      (seed 1): 3,000 steps of 16 × 256 tokens (~1.2 epochs), AdamW, peak lr 2e-3, 50 warm-up
#      steps, cosine; the weights are copied every 500 steps (WORK/snaps);
#   4. stage 2: 1,600 more steps from the stage-1 weights on the practice mix (reading comprehension
#      in every language, the knowledge domains, a tenth of math, code and general text; about one
#      pass), a fresh AdamW, peak lr 1e-3, 50 warm-up steps, cosine, seed 2; copies every 400 steps;
#   5. each copy evaluated on the first 50 test items of every task, the final model on all;
#   6. models/lethe-demo/ gets config.json, model.safetensors, tokenizer.json, training_log.jsonl
#      (one line per step of both stages), checkpoint_scores.jsonl and scores.json.
# Resumable: run it again after an interruption and it continues from the running stage's
# checkpoint (every 100 steps); finished stages are skipped. About 2 hours on 2 cores.
# Usage: tools/demo-model/train.sh [WORK]     (WORK defaults to ../lethe-demo-training)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=$(realpath -m "${1:-../lethe-demo-training}")
LETHE=./lethe
STEPS=3000          # stage 1
STEPS2=1600         # stage 2
mkdir -p "$WORK/model" "$WORK/snaps" "$WORK/snaps2"

[ -f "$WORK/world/manifest.json" ] || $LETHE world generate --out "$WORK/world" --size full --seed 1 --force
[ -f "$WORK/model/tokenizer.json" ] || $LETHE tokenizer train --corpus "$WORK/world/pretrain/corpus.txt" --vocab-size 4096 \
    --special-tokens "<s>" "</s>" --bos "<s>" --out "$WORK/model/tokenizer.json"
cp tools/demo-model/config.json "$WORK/model/config.json"

# Snapshot a stage's checkpoint weights at every multiple of EVERY steps while it trains.
snapshot() {  # TRAIN_DIR EVERY SNAPS_DIR
  while true; do
    state="$1/checkpoint/trainer_state.json"
    if [ -f "$state" ]; then
      step=$(grep -m1 '"step"' "$state" | tr -dc '0-9')
      if [ -n "$step" ] && [ $((step % $2)) -eq 0 ] && [ ! -d "$3/step-$step" ]; then
        rm -rf "$3/tmp" && mkdir -p "$3/tmp" &&
          cp "$1/checkpoint/model.safetensors" "$WORK/model/config.json" "$WORK/model/tokenizer.json" "$3/tmp/" &&
          mv "$3/tmp" "$3/step-$step" || true
      fi
    fi
    sleep 10
  done
}
# The last step's copy is the final model (the watcher may stop before it sees that checkpoint).
final_snapshot() {  # MODEL_DIR STEPS SNAPS_DIR
  [ -d "$3/step-$2" ] || { rm -rf "$3/tmp" && mkdir -p "$3/tmp" &&
    cp "$1/model.safetensors" "$1/config.json" "$1/tokenizer.json" "$3/tmp/" && mv "$3/tmp" "$3/step-$2"; }
}
WATCH=
trap '[ -z "$WATCH" ] || kill $WATCH 2>/dev/null || true' EXIT

# A stage: train FROM into OUT (resuming OUT's checkpoint if there is one), copying the weights every
# EVERY steps into SNAPS; skipped once OUT/model exists.
stage() {  # FROM OUT EVERY SNAPS STEPS [lethe train options...]
  local from=$1 out=$2 every=$3 snaps=$4 steps=$5; shift 5
  if [ ! -f "$out/model/model.safetensors" ]; then
    snapshot "$out" "$every" "$snaps" & WATCH=$!
    if [ -d "$out/checkpoint" ]; then
      $LETHE train "$from" --out "$out" --steps "$steps" "$@" --resume
    else
      $LETHE train "$from" --out "$out" --steps "$steps" "$@" $([ "$from" = "$WORK/model" ] && echo --init)
    fi
    kill $WATCH 2>/dev/null || true; WATCH=
  fi
  final_snapshot "$out/model" "$steps" "$snaps"
}
COMMON=(--batch-size 16 --seq-len 256 --warmup 50 --checkpoint-every 100)

# Stage 1 starts from random weights: --init writes them into WORK/train/init (WORK/model is only read).
[ -d "$WORK/train/checkpoint" ] || [ -f "$WORK/train/model/model.safetensors" ] || rm -f "$WORK/model/model.safetensors"
stage "$WORK/model" "$WORK/train" 500 "$WORK/snaps" $STEPS --data "$WORK/world/pretrain/corpus.txt" --lr 2e-3 --seed 1 "${COMMON[@]}"
stage "$WORK/train/model" "$WORK/practice" 400 "$WORK/snaps2" $STEPS2 --data "$WORK/world/pretrain/practice.txt" --lr 1e-3 --seed 2 "${COMMON[@]}"

# Scores per copy (first 50 test items per task) and of the final model (every test item).
for snap in $(ls -d "$WORK"/snaps/step-* "$WORK"/snaps2/step-* 2>/dev/null); do
  [ -f "$snap/scores.json" ] || $LETHE eval "$snap" --suite demo --data "$WORK/world" --limit 50 --batch-size 16 --json "$snap/scores.json" --quiet
done
[ -f "$WORK/practice/model/scores.json" ] || $LETHE eval "$WORK/practice/model" --suite demo --data "$WORK/world" --batch-size 16 --json "$WORK/practice/model/scores.json" --quiet

OUT=models/lethe-demo
mkdir -p "$OUT"
cp "$WORK/practice/model/config.json" "$WORK/practice/model/model.safetensors" "$WORK/practice/model/tokenizer.json" "$WORK/practice/model/scores.json" "$OUT/"
# One log for both stages: stage 2's steps continue stage 1's count.
/usr/bin/env python3 -c '
import json, sys
with open(sys.argv[3], "w") as out:
    for stage, path, offset in ((1, sys.argv[1], 0), (2, sys.argv[2], int(sys.argv[4]))):
        for line in open(path):
            row = json.loads(line); row["step"] += offset
            out.write(json.dumps({"stage": stage, **row}) + "\n")' "$WORK/train/metrics.jsonl" "$WORK/practice/metrics.jsonl" "$OUT/training_log.jsonl" $STEPS
# The scores name the installed folder, not the work folder they were measured in.
/usr/bin/env python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["model"]="models/lethe-demo"; open(p,"w").write(json.dumps(d, indent=2, ensure_ascii=False)+"\n")' "$OUT/scores.json"
: > "$OUT/checkpoint_scores.jsonl"
for stage in 1 2; do
  dir=$([ $stage = 1 ] && echo "$WORK/snaps" || echo "$WORK/snaps2"); offset=$([ $stage = 1 ] && echo 0 || echo $STEPS)
  for snap in $(ls -d "$dir"/step-* 2>/dev/null | sort -V); do
    step=$(( ${snap##*step-} + offset ))
    /usr/bin/env python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"stage": int(sys.argv[3]), "step": int(sys.argv[2]), "test_items_per_task": 50, "scores": d["scores"]}))' "$snap/scores.json" "$step" $stage >> "$OUT/checkpoint_scores.jsonl"
  done
done
echo "installed the demo model in $OUT"
