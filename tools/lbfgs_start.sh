#!/usr/bin/env bash
# The measurement behind L-BFGS's first step (docs/defaults.md, "The first
# L-BFGS step"): four content/style pairs of the shared images at each size,
# one run of N iterations each (the loss at 50 is read from the same log),
# for two builds; then a table of the losses and evaluations side by side.
#   usage: tools/lbfgs_start.sh run OUTDIR LABEL CLSTYLE [SIZES] [N] [clstyle options]
#          tools/lbfgs_start.sh oracle OUTDIR LABEL [SIZES] [N] [oracle options]
#          tools/lbfgs_start.sh table OUTDIR LABEL_A LABEL_B [SIZES] [N]
#   env:   IMAGES (default ../shared/images), PAIRS (CONTENT:STYLE ..., default the four
#          below); runs use the default device
#          (PoCL on a CPU machine) unless the options say otherwise.
# Example (the table in docs/defaults.md): build the commit before the change
# into old/ and this one into build/, then
#   tools/lbfgs_start.sh run /tmp/ls before old/clstyle "64 256" 200
#   tools/lbfgs_start.sh run /tmp/ls after build/clstyle "64 256" 200
#   tools/lbfgs_start.sh table /tmp/ls before after "64 256" 200
# `oracle` runs the same jobs with PyTorch's L-BFGS on the same loss
# (tools/pytorch_oracle.py: torch.optim.LBFGS, history 100, lr 1, no line
# search, one thread; /usr/bin/python3 with Debian's python3-torch, or set
# PYTHON); its logs are in clstyle's format, so `table` compares it with
# either build:
#   tools/lbfgs_start.sh oracle /tmp/ls pytorch "64 256" 200
#   tools/lbfgs_start.sh table /tmp/ls after pytorch "64 256" 200
set -eu
pairs=${PAIRS:-"tubingen:starry_night golden_gate:the_scream tubingen:shipwreck golden_gate:woman-with-hat-matisse"}
images=${IMAGES:-../shared/images}
cmd=${1:?usage: tools/lbfgs_start.sh run|oracle|table OUTDIR ...}
out=${2:?OUTDIR}

run() {
  local label=$1 bin=$2 sizes=${3:-64 256} n=${4:-200}
  shift $(( $# < 4 ? $# : 4 ))
  mkdir -p "$out/$label"
  for size in $sizes; do
    for p in $pairs; do
      local c=${p%%:*} s=${p#*:} name=${p%%:*}_${p#*:}_$size
      local start=$(date +%s.%N)
      "$bin" -c "$images/$c.png" -s "$images/$s.png" -o "$out/$label/$name.png" --size "$size" --iterations "$n" \
        --log "$out/$label/$name.jsonl" -q "$@"
      echo "$name $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" >> "$out/$label/wall.txt"
    done
  done
}

oracle() {
  local label=$1 sizes=${2:-64 256} n=${3:-200}
  shift $(( $# < 3 ? $# : 3 ))
  mkdir -p "$out/$label"
  for size in $sizes; do
    for p in $pairs; do
      local c=${p%%:*} s=${p#*:} name=${p%%:*}_${p#*:}_$size
      local start=$(date +%s.%N)
      "${PYTHON:-/usr/bin/python3}" "$(dirname "$0")/pytorch_oracle.py" -c "$images/$c.png" -s "$images/$s.png" \
        --size "$size" --iterations "$n" --log "$out/$label/$name.jsonl" -q "$@" > "$out/$label/$name.json"
      echo "$name $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')" >> "$out/$label/wall.txt"
    done
  done
}

# "loss evaluations" at iteration `at` of a log: the accepted loss there and
# the evaluations up to it (iteration 0 and every trial counted).
at() {
  awk -v at="$1" '/"event"/ { next }
    { match($0, /"iter":[0-9]+/); it = substr($0, RSTART + 7, RLENGTH - 7) + 0; ev++
      if ($0 ~ /rejected/) next
      match($0, /"loss":[^,]+/); if (it == at) { printf "%.4f %d", substr($0, RSTART + 7, RLENGTH - 7), ev; exit } }' "$2"
}

table() {
  local a=$1 b=$2 sizes=${3:-64 256} n=${4:-200}
  echo "| pair | px | loss at 50: $a | $b | loss at $n: $a | $b | evaluations to $n: $a | $b |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  for size in $sizes; do
    for p in $pairs; do
      local name=${p%%:*}_${p#*:}_$size
      [ -s "$out/$a/$name.jsonl" ] && [ -s "$out/$b/$name.jsonl" ] || continue
      read -r la50 ea50 <<<"$(at 50 "$out/$a/$name.jsonl")"
      read -r lb50 eb50 <<<"$(at 50 "$out/$b/$name.jsonl")"
      read -r la eva <<<"$(at "$n" "$out/$a/$name.jsonl")"
      read -r lb evb <<<"$(at "$n" "$out/$b/$name.jsonl")"
      echo "| ${p%%:*} x ${p#*:} | $size | $la50 | $lb50 | $la | $lb | $eva | $evb |"
    done
  done
}

shift 2
case $cmd in
  run) run "$@" ;;
  oracle) oracle "$@" ;;
  table) table "$@" ;;
  *) echo "usage: tools/lbfgs_start.sh run|oracle|table OUTDIR ..." >&2; exit 2 ;;
esac
