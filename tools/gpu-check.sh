#!/usr/bin/env bash
# Device checks for a machine with a real GPU: the OpenCL conformance suite,
# the PyTorch fixtures and the backend comparison on that device, the
# benchmark, a profile, and one 512 px run with its loss log.
#   usage: tools/gpu-check.sh OUTDIR   (CLSTYLE_WEIGHTS must point at the VGG-19 file)
set -u
out=${1:-gpu-out}
B=${BUILD:-build}
mkdir -p "$out"
: "${CLSTYLE_WEIGHTS:?set CLSTYLE_WEIGHTS}"
step() { echo; echo "== $* ($(date +%T))"; }
{
  step devices; "$B/clstyle" --list-devices
  step conformance; "$B/tests/test_conformance"
  step fixtures
  "$B/tests/test_fixture" opencl tests/data/gatys_vgg19.bin default
  "$B/tests/test_fixture" opencl tests/data/gatys_vgg19_blend.bin blend
  step optimizers; "$B/tests/test_optim" opencl
  step "e2e backends"; "$B/tests/test_e2e" backends examples 2>&1 | tail -4
  step benchmark; "$B/tools/clstyle-bench" --sizes ${BENCH_SIZES:-256,512,1024} --iterations ${BENCH_ITERS:-20}
  step "benchmark, direct convolution"; CLSTYLE_CONV=direct "$B/tools/clstyle-bench" --arch 19 --sizes 512 --iterations 10
  step "profile vgg19 512"; CLSTYLE_PROFILE=1 "$B/tools/clstyle-bench" --arch 19 --sizes 512 --iterations 10
  step "run 512"
  time "$B/clstyle" -c examples/tubingen.png -s examples/starry_night.png -o "$out/tubingen_starry_512.png" \
    --size 512 --log "$out/run512.jsonl" -v
} 2>&1 | tee "$out/log.txt"
