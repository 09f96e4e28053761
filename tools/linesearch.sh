#!/usr/bin/env bash
# The measurement behind the default --line-search (README, "L-BFGS that never
# jumps"): one content/style pair, plain L-BFGS for N iterations, then each
# guarded mode for the same N; for every mode, the evaluations (trials
# included) and the evaluation time it took to first reach the loss plain
# L-BFGS ends at, and the loss it ends at itself.
#   usage: tools/linesearch.sh OUTDIR [SIZE] [N] [extra clstyle options]
#   env:   CONTENT, STYLE (default examples/tubingen.png, examples/starry_night.png)
set -eu
out=${1:?usage: tools/linesearch.sh OUTDIR [SIZE] [N] [options]}
size=${2:-256} n=${3:-100}
shift $(( $# < 3 ? $# : 3 ))
B=${BUILD:-build}
mkdir -p "$out"
for ls in none backtrack wolfe; do
  start=$(date +%s.%N)
  "$B/clstyle" -c "${CONTENT:-examples/tubingen.png}" -s "${STYLE:-examples/starry_night.png}" -o "$out/$ls.png" \
    --size "$size" --iterations "$n" --line-search "$ls" --log "$out/$ls.jsonl" -q "$@"
  echo "$ls $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')" >> "$out/wall.txt"
done
target=$(grep -v event "$out/none.jsonl" | tail -n 1 | sed 's/.*"loss":\([^,]*\),.*/\1/')
printf "%-10s %8s %12s %10s %14s %12s %8s\n" mode iters evals eval_s final_loss jumps wall_s
for ls in none backtrack wolfe; do
  awk -v t="$target" -v ls="$ls" -v wall="$(grep "^$ls " "$out/wall.txt" | tail -n 1 | cut -d' ' -f2)" '
    /"event"/ { next }
    { match($0, /"iter":[0-9]+/); it = substr($0, RSTART + 7, RLENGTH - 7) + 0
      match($0, /"loss":[^,]+/); l = substr($0, RSTART + 7, RLENGTH - 7) + 0
      match($0, /"ms":[^,}]+/); ms += substr($0, RSTART + 5, RLENGTH - 5)
      ev++
      if ($0 ~ /rejected/) next
      if (it > 0 && l > prev) jumps++
      prev = l; last = l
      if (!hit && l <= t) { hit = 1; hit_it = it; hit_ev = ev; hit_ms = ms } }
    END { if (!hit) { hit_it = "-"; hit_ev = "-"; hit_ms = 0 }
          printf "%-10s %8s %12s %10.1f %14.6g %12d %8.1f\n", ls, hit_it, hit_ev, hit_ms / 1e3, last, jumps, wall }' "$out/$ls.jsonl"
done
echo "(iters, evals, eval_s: to first reach plain L-BFGS's final loss $target; evals count iteration 0 and every trial)"
