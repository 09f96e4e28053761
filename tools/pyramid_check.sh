#!/usr/bin/env bash
# Issue 19's measure over four pairs: each run's time, then its style and
# content losses at N/4, N/2 and N (tools/scale_losses.sh), one markdown
# row per pair and label, so one way of making an N px picture can be held
# against another (docs/large-pictures.md, "The automatic pyramid").
#   usage: tools/pyramid_check.sh run OUTDIR LABEL CLSTYLE N [clstyle options]
#          tools/pyramid_check.sh table OUTDIR N LABEL...
#   env:   IMAGES (default ../shared/images), PAIRS (CONTENT:STYLE ..., the four below)
# Example (the table in docs/large-pictures.md):
#   tools/pyramid_check.sh run /tmp/pc single build/clstyle 1024 --iterations 100 --single
#   tools/pyramid_check.sh run /tmp/pc list build/clstyle 1024 --size 256,512,1024 --iterations 200,100,40
#   tools/pyramid_check.sh run /tmp/pc auto build/clstyle 1024 --iterations 100
#   tools/pyramid_check.sh table /tmp/pc 1024 single list auto
# Times are wall and CPU seconds; on a shared machine compare CPU seconds.
set -eu
pairs=${PAIRS:-"tubingen:starry_night golden_gate:the_scream tubingen:shipwreck golden_gate:woman-with-hat-matisse"}
images=${IMAGES:-../shared/images}
here=$(dirname "$0")
cmd=${1:?usage: tools/pyramid_check.sh run|table OUTDIR ...}
out=${2:?OUTDIR}

image() { local f="$images/$1.png"; [ -f "$f" ] || f="$images/$1.jpg"; echo "$f"; }

run() {
  local label=${1:?LABEL} bin=${2:?CLSTYLE} n=${3:?N}
  shift 3
  mkdir -p "$out/$label"
  for p in $pairs; do
    local c s name=${p%%:*}_${p#*:}
    c=$(image "${p%%:*}") s=$(image "${p#*:}")
    /usr/bin/time -f "%e %U %S" -o "$out/$label/$name.time" \
      "$bin" -c "$c" -s "$s" -o "$out/$label/$name.png" --size "$n" --log "$out/$label/$name.jsonl" -q "$@"
    local row
    row=$("$here/scale_losses.sh" "$bin" "$c" "$s" "$out/$label/$name.png" "$((n / 4)) $((n / 2)) $n")
    read -r wall user sys < "$out/$label/$name.time"
    echo "| $name | $label | $wall | $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.0f", u + s }') ${row#| *.png }" \
      > "$out/$label/$name.row"
    cat "$out/$label/$name.row"
  done
}

table() {
  local n=${1:?N}
  shift
  echo "| pair | run | wall s | CPU s | style at $((n / 4)) | at $((n / 2)) | at $n | content at $((n / 4)) | at $((n / 2)) | at $n |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
  for p in $pairs; do
    for label in "$@"; do cat "$out/$label/${p%%:*}_${p#*:}.row" 2>/dev/null || true; done
  done
}

case $cmd in
  run) shift 2; run "$@" ;;
  table) shift 2; table "$@" ;;
  *) echo "pyramid_check.sh: unknown command '$cmd' (run or table)" >&2; exit 2 ;;
esac
