#!/usr/bin/env bash
# The second and third RMU choices of docs/results/rmu-fresh/PREREG.md and docs/results/rmu-shares/PREREG.md
# (issue 12): candidates on the full world's selection split with per-item values, the rule that weighs
# each margin by its standard error, and the chosen candidate on fresh items.
# usage:
#   tools/experiments/rmu_fresh.sh select WORK [NAMES]   # NAMES (default A,B,C,D,E) x 3 seeds on the selection split (2 at a time, 1 thread each)
#   tools/experiments/rmu_fresh.sh fresh WORK NAME       # NAME's 3 seeds (and the original) on the fresh comprehension items of worlds 2, 3
#   tools/experiments/rmu_fresh.sh judge WORK NAME       # the third choice's judges: fresh comprehension items of worlds 4, 5,
#                                                        # and the general and sensitive paraphrase sets of WORK/world
# WORK/world is the full world, seed 1 (generated when missing); rmu_fresh.py reads what these write
# (it needs numpy: Debian's python3-numpy, hence /usr/bin/python3).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
stage="${1:?usage: rmu_fresh.sh select|fresh WORK [NAME]}"; work="${2:?WORK folder}"
mkdir -p "$work"
lethe() { "$here/lethe" "$@"; }
py() { /usr/bin/python3 "$here/tools/experiments/rmu_fresh.py" "$@"; }
W="$work/world"
[ -f "$W/general_mc/knowledge_corpus.jsonl" ] || lethe world generate --size full --seed 1 --out "$W" -q --force
L7=""; for l in en de es ar zh vi hi; do L7="$L7:comprehension/$l/train.jsonl"; done
RC=sensitive/retain_corpus.jsonl; K=general_mc/knowledge_corpus.jsonl
declare -A RETAIN=([A]="$RC:$K" [B]="$RC" [C]="$RC:$K$L7" [D]="$RC:$K$L7" [E]="$RC:$K$L7"
                  [F]="$RC:$K$L7" [G]="$RC:$K$L7" [H]="$RC:$K$L7" [I]="$RC:$K$L7")
declare -A ALPHA=([A]=1200 [B]=1800 [C]=1200 [D]=900 [E]=1500 [F]=900 [G]=1200 [H]=900 [I]=1200)
# Retain shares, one per retain file in RETAIN's order (none: the files pooled). 1/7 per language.
L=0.142857142857
declare -A SHARES=([F]="1 2 $L $L $L $L $L $L $L" [G]="1 2 $L $L $L $L $L $L $L" [H]="1 1 $L $L $L $L $L $L $L" [I]="1 1 $L $L $L $L $L $L $L")

# Unlearns NAME with SEED into a scratch folder, scores it on TASK_ARGS (a file of --task lines), deletes it.
run() {  # NAME SEED OUTDIR TASKFILE
  local name=$1 seed=$2 out=$3 tasks=$4 retain=() shares=() f files
  [ -f "$out/$name-s$seed.samples.jsonl" ] && return 0
  IFS=: read -ra files <<< "${RETAIN[$name]}"
  for f in "${files[@]}"; do retain+=(--retain "$W/$f"); done
  [ -n "${SHARES[$name]:-}" ] && { read -ra shares <<< "${SHARES[$name]}"; shares=(--retain-shares "${shares[@]}"); }
  lethe unlearn adaptive-rmu "$here/models/lethe-demo" --preset demo --forget "$W/sensitive/forget_corpus.jsonl" "${retain[@]}" "${shares[@]}" \
    --layer 3 --steps 60 --alpha "${ALPHA[$name]}" --out "$out/$name-s$seed" --seed "$seed" --threads 1 -q --force > /dev/null
  mapfile -t args < "$tasks"
  lethe eval "$out/$name-s$seed" "${args[@]}" --json "$out/$name-s$seed.json" --samples "$out/$name-s$seed.samples.jsonl.part" --threads 1 -q --force > /dev/null
  mv "$out/$name-s$seed.samples.jsonl.part" "$out/$name-s$seed.samples.jsonl"
  rm -rf "${out:?}/$name-s$seed"
}
original() {  # OUTDIR TASKFILE
  [ -f "$1/original.samples.jsonl" ] && return 0
  mapfile -t args < "$2"
  lethe eval "$here/models/lethe-demo" "${args[@]}" --json "$1/original.json" --samples "$1/original.samples.jsonl.part" --threads 1 -q --force > /dev/null
  mv "$1/original.samples.jsonl.part" "$1/original.samples.jsonl"
}
export -f run original lethe; export here W
export RETAIN_SER="$(declare -p RETAIN ALPHA SHARES)"

# Every NAME with seeds 0, 1, 2 on OUT/tasks.txt, two runs at a time.
seeds() {  # OUT NAME...
  local out=$1 name seed; shift
  for name in "$@"; do for seed in 0 1 2; do echo "$name $seed"; done; done |
    xargs -P 2 -L 1 bash -c 'eval "$RETAIN_SER"; run "$0" "$1" '"$out $out/tasks.txt"
}

# NAME's 3 seeds (and the original) into WORK/OUT on the comprehension test items of worlds SEED_A and
# SEED_B that world 1 lacks, and with `paraphrase` also on world 1's general and sensitive paraphrase sets.
fresh_judge() {  # NAME OUT SEED_A SEED_B [paraphrase]
  local name=$1 out="$work/$2" a=$3 b=$4
  mkdir -p "$out"
  for s in "$a" "$b"; do [ -f "$work/world$s/manifest.json" ] || lethe world generate --size full --seed "$s" --out "$work/world$s" -q --force; done
  py fresh-items "$W" "$work/world$a" "$work/world$b" "$out"
  if [ "${5:-}" = paraphrase ]; then
    printf -- '--task\ngeneral_mc=%s\n--task\nsensitive_mc=%s\n' "$W/general_mc/paraphrase.jsonl" "$W/sensitive/mc_paraphrase.jsonl" >> "$out/tasks.txt"
  fi
  original "$out" "$out/tasks.txt"
  seeds "$out" "$name"
  py summarize "$out" "$name"
}

case "$stage" in
  select)
    out="$work/select"; mkdir -p "$out"; : > "$out/tasks.txt"
    sel() { cat "$W/$2" "$W/$3" > "$out/$1.jsonl"; printf -- '--task\n%s=%s\n' "$4" "$out/$1.jsonl" >> "$out/tasks.txt"; }
    sel sens_sel sensitive/mc_validation.jsonl sensitive/mc_probe.jsonl sensitive_mc
    sel gen_sel general_mc/validation.jsonl general_mc/probe.jsonl general_mc
    for l in en de es ar zh vi hi; do sel "comp_$l" "comprehension/$l/validation.jsonl" "comprehension/$l/probe.jsonl" "comprehension.$l"; done
    original "$out" "$out/tasks.txt"
    names="${3:-A,B,C,D,E}"
    seeds "$out" ${names//,/ }
    py choose "$out" "$names" ;;
  fresh) fresh_judge "${3:?fresh needs the candidate NAME}" fresh 2 3 ;;
  judge) fresh_judge "${3:?judge needs the candidate NAME}" judge 4 5 paraphrase ;;
  *) echo "unknown stage '$stage' (select, fresh or judge)" >&2; exit 2 ;;
esac
