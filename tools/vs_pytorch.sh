#!/bin/sh
# clstyle against PyTorch on this CPU, side by side: for each size, REPS
# rounds that run tools/pytorch_baseline.py and each clstyle-bench given,
# interleaved and at the same niceness, then the median ms per L-BFGS
# iteration of each and its ratio to PyTorch (VGG-19, square images).
#   tools/vs_pytorch.sh [SIZES] [REPS] [BENCH...]
#   e.g. tools/vs_pytorch.sh "256 512" 3 build/tools/clstyle-bench /tmp/base/build/tools/clstyle-bench
# Needs Debian's python3-torch (/usr/bin/python3); ITERS (default 3) iterations per run.
set -eu
sizes=${1:-"256 512"}
reps=${2:-3}
[ $# -ge 2 ] && shift 2 || shift $#
[ $# -ge 1 ] || set -- build/tools/clstyle-bench
iters=${ITERS:-3}
here=$(dirname "$0")
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for size in $sizes; do
    for r in $(seq "$reps"); do
        ms=$(nice -n 10 /usr/bin/python3 "$here/pytorch_baseline.py" "$size" "$iters" 19 | sed -n 's/.* \([0-9.]*\) ms\/iter/\1/p')
        echo "$size pytorch $ms" >>"$log"
        for b in "$@"; do
            ms=$(nice -n 10 "$b" --arch 19 --square --sizes "$size" --iterations "$iters" | awk '/^vgg19/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9.]+$/) { print $i; exit } }')
            echo "$size $b $ms" >>"$log"
        done
    done
done
python3 - "$log" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    size, who, ms = line.split()
    runs.setdefault((int(size), who), []).append(float(ms))
print("| size | program | ms/iter (median) | runs | vs PyTorch |")
print("| --- | --- | --- | --- | --- |")
for (size, who), v in sorted(runs.items(), key=lambda kv: (kv[0][0], kv[0][1] != "pytorch")):
    med, base = statistics.median(v), statistics.median(runs[(size, "pytorch")])
    print(f"| {size}x{size} | {who} | {med:.0f} | {' '.join(f'{x:.0f}' for x in v)} | {med / base:.2f}x |")
PY
