#!/usr/bin/env bash
# The sweep behind the default weights (README, "How the defaults were
# chosen"): content/style pairs at 512 px, 500 L-BFGS iterations, a grid of
# style weights (and TV weights for the first pair). Writes one PNG and one
# JSON Lines log per run into OUTDIR, and the final loss terms to summary.txt.
#   usage: tools/tune.sh OUTDIR   (IMAGES=folder of PNGs, default examples/)
set -u
out=${1:?usage: tools/tune.sh OUTDIR}
B=${BUILD:-build}
img=${IMAGES:-examples}
pairs=${PAIRS:-"tubingen:starry_night golden_gate:the_scream tubingen:woman-with-hat-matisse"}
mkdir -p "$out"
run() { # content style beta gamma
  local name=${1}_${2}_s${3}_tv${4}
  "$B/clstyle" -c "$img/$1.png" -s "$img/$2.png" -o "$out/$name.png" --style-weight "$3" --tv-weight "$4" \
    --log "$out/$name.jsonl" -q ${EXTRA:-} || echo "$name failed" >&2
  echo "$name $(tail -n 1 "$out/$name.jsonl")" >> "$out/summary.txt"
}
first=1
for p in $pairs; do
  for beta in ${BETAS:-3 10 30 100}; do run "${p%%:*}" "${p##*:}" "$beta" 10; done
  if [ $first = 1 ]; then for tv in ${TVS:-1 100}; do run "${p%%:*}" "${p##*:}" 10 "$tv"; done; first=0; fi
done
cat "$out/summary.txt"
