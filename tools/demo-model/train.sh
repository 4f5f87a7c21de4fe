#!/usr/bin/env bash
# Trains the shipped demo model (models/lethe-demo/) from nothing, with Lethe only, and installs it:
#   1. the full demo world (seed 1), whose pre-training corpus is the training data;
#   2. a 4,096-token byte-level BPE tokenizer trained on that corpus (<s> put first on encoding);
#   3. a 7 M-parameter Llama (tools/demo-model/config.json) trained from random weights (seed 1):
#      3,000 steps of 16 × 256 tokens (~1.2 epochs), AdamW, peak lr 2e-3, 50 warm-up steps, cosine;
#      the weights are copied every 500 steps (WORK/snaps) for the per-checkpoint scores;
#   4. each snapshot evaluated on the first 50 test items of every task, the final model on all;
#   5. models/lethe-demo/ gets config.json, model.safetensors, tokenizer.json, training_log.jsonl
#      (one line per step), checkpoint_scores.jsonl and scores.json.
# Resumable: run it again after an interruption and it continues from WORK/train/checkpoint (every
# 100 steps); finished stages are skipped. About 75 minutes on 2 cores.
# Usage: tools/demo-model/train.sh [WORK]     (WORK defaults to ../lethe-demo-training)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=$(realpath -m "${1:-../lethe-demo-training}")
LETHE=./lethe
STEPS=3000
mkdir -p "$WORK/model" "$WORK/snaps"

[ -f "$WORK/world/manifest.json" ] || $LETHE world generate --out "$WORK/world" --size full --seed 1 --force
[ -f "$WORK/model/tokenizer.json" ] || $LETHE tokenizer train --corpus "$WORK/world/pretrain/corpus.txt" --vocab-size 4096 \
    --special-tokens "<s>" "</s>" --bos "<s>" --out "$WORK/model/tokenizer.json"
cp tools/demo-model/config.json "$WORK/model/config.json"

# Snapshot the checkpoint's weights at every multiple of 500 steps while training runs.
snapshot() {
  while true; do
    state="$WORK/train/checkpoint/trainer_state.json"
    if [ -f "$state" ]; then
      step=$(grep -m1 '"step"' "$state" | tr -dc '0-9')
      if [ -n "$step" ] && [ $((step % 500)) -eq 0 ] && [ ! -d "$WORK/snaps/step-$step" ]; then
        rm -rf "$WORK/snaps/tmp" && mkdir -p "$WORK/snaps/tmp" &&
          cp "$WORK/train/checkpoint/model.safetensors" "$WORK/model/config.json" "$WORK/model/tokenizer.json" "$WORK/snaps/tmp/" &&
          mv "$WORK/snaps/tmp" "$WORK/snaps/step-$step" || true
      fi
    fi
    sleep 10
  done
}

if [ ! -f "$WORK/train/model/model.safetensors" ]; then
  snapshot & WATCH=$!
  trap 'kill $WATCH 2>/dev/null || true' EXIT
  ARGS=(--data "$WORK/world/pretrain/corpus.txt" --out "$WORK/train" --steps $STEPS --batch-size 16 --seq-len 256
        --lr 2e-3 --warmup 50 --checkpoint-every 100 --seed 1)
  if [ -d "$WORK/train/checkpoint" ]; then
    $LETHE train "$WORK/model" "${ARGS[@]}" --resume
  else
    rm -f "$WORK/model/model.safetensors"       # --init writes the random start here
    $LETHE train "$WORK/model" --init "${ARGS[@]}"
  fi
  kill $WATCH 2>/dev/null || true
fi

# Scores per checkpoint (first 50 test items per task) and of the final model (every test item).
for snap in $(ls -d "$WORK"/snaps/step-* 2>/dev/null | sort -t- -k2 -n); do
  [ -f "$snap/scores.json" ] || $LETHE eval "$snap" --suite demo --data "$WORK/world" --limit 50 --batch-size 16 --json "$snap/scores.json" --quiet
done
[ -f "$WORK/train/model/scores.json" ] || $LETHE eval "$WORK/train/model" --suite demo --data "$WORK/world" --batch-size 16 --json "$WORK/train/model/scores.json" --quiet

OUT=models/lethe-demo
mkdir -p "$OUT"
cp "$WORK/train/model/config.json" "$WORK/train/model/model.safetensors" "$WORK/train/model/tokenizer.json" "$WORK/train/model/scores.json" "$OUT/"
cp "$WORK/train/metrics.jsonl" "$OUT/training_log.jsonl"
# The scores name the installed folder, not the work folder they were measured in.
/usr/bin/env python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["model"]="models/lethe-demo"; open(p,"w").write(json.dumps(d, indent=2, ensure_ascii=False)+"\n")' "$OUT/scores.json"
: > "$OUT/checkpoint_scores.jsonl"
for snap in $(ls -d "$WORK"/snaps/step-* 2>/dev/null | sort -t- -k2 -n); do
  step=${snap##*step-}
  /usr/bin/env python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"step": int(sys.argv[2]), "test_items_per_task": 50, "scores": d["scores"]}))' "$snap/scores.json" "$step" >> "$OUT/checkpoint_scores.jsonl"
done
echo "installed the demo model in $OUT"
