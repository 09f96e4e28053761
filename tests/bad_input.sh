#!/usr/bin/env bash
# Bad input, one case per meson test: each gets a one-line message naming the
# problem, exit 1 (runtime) or 2 (usage, plus a hint line), and no output file.
# usage: bad_input.sh CLSTYLE EXAMPLES_DIR CASE
set -u
bin=$1 ex=$2 case=$3
tmp=$(mktemp -d /tmp/clstyle-bad-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out.png
c=$ex/tubingen.png s=$ex/starry_night.png
fail() { echo "FAIL [$case]: $*" >&2; exit 1; }

# A weights file is needed for cases that get past option parsing; the
# synthetic ones below are written here, the real one comes from CLSTYLE_WEIGHTS.
real_weights() {
  [ -n "${CLSTYLE_WEIGHTS:-}" ] && [ -r "$CLSTYLE_WEIGHTS" ] || { echo "SKIP: CLSTYLE_WEIGHTS not set"; exit 77; }
}

# Writes a safetensors file: header JSON $2, then $3 zero bytes of data.
st_file() {
  local path=$1 header=$2 nbytes=$3 len=${#2} le="" i
  for i in 0 1 2 3 4 5 6 7; do le+=$(printf '\\x%02x' $(( (len >> (8 * i)) & 255 ))); done
  { printf "$le"; printf '%s' "$header"; head -c "$nbytes" /dev/zero; } > "$path"
}

# expect RC NEEDLE -- command...: checks exit code, message and no output.
expect() {
  local rc=$1 needle=$2; shift 3
  "$@" > "$tmp/stdout" 2> "$tmp/stderr"
  local got=$?
  local first; first=$(head -n 1 "$tmp/stderr")
  [ "$got" -eq "$rc" ] || fail "exit $got, want $rc; stderr: $(cat "$tmp/stderr")"
  case "$first" in clstyle:*"$needle"*) ;; *) fail "message '$first' lacks '$needle'";; esac
  local lines; lines=$(wc -l < "$tmp/stderr")
  if [ "$rc" -eq 2 ]; then
    [ "$lines" -eq 2 ] && grep -q -- "--help" "$tmp/stderr" || fail "usage error wants a message and a hint, got: $(cat "$tmp/stderr")"
  else
    [ "$lines" -eq 1 ] || fail "want one line, got: $(cat "$tmp/stderr")"
  fi
  [ ! -e "$out" ] || fail "output file was written"
  [ -z "$(ls -A "$tmp" | grep '^\.out')" ] || fail "temporary output left behind"
}

run() { "$bin" -c "$c" -s "$s" -o "$out" --size 32 --iterations 2 -q --backend reference "$@"; }

case $case in
  content-missing) real_weights; expect 1 "$tmp/nope.png" -- run -c "$tmp/nope.png" ;;
  content-empty) real_weights; : > "$tmp/empty.png"; expect 1 "empty.png" -- run -c "$tmp/empty.png" ;;
  content-not-png) real_weights; printf '\xff\xd8\xff\xe0JFIF not really' > "$tmp/photo.png"; expect 1 "not a readable PNG" -- run -c "$tmp/photo.png" ;;
  content-truncated) real_weights; head -c 5000 "$c" > "$tmp/cut.png"; expect 1 "cut.png" -- run -c "$tmp/cut.png" ;;
  style-missing) real_weights; expect 1 "nostyle.png" -- run -s "$s,$tmp/nostyle.png" ;;
  init-missing) real_weights; expect 1 "noinit.png" -- run --init "$tmp/noinit.png" ;;
  weights-missing) expect 1 "cannot open weights" -- run --weights "$tmp/none.safetensors" ;;
  weights-truncated) real_weights; head -c 3000000 "$CLSTYLE_WEIGHTS" > "$tmp/cut.safetensors"
    expect 1 "outside the file" -- run --weights "$tmp/cut.safetensors" ;;
  weights-header-length) printf '\xff\xff\xff\x00\x00\x00\x00\x00{}' > "$tmp/h.safetensors"
    expect 1 "runs past the end" -- run --weights "$tmp/h.safetensors" ;;
  weights-not-json) st_file "$tmp/j.safetensors" '{"features.0.weight": [' 0
    expect 1 "not valid JSON" -- run --weights "$tmp/j.safetensors" ;;
  weights-offsets) st_file "$tmp/o.safetensors" '{"features.0.weight":{"dtype":"F32","shape":[64,3,3,3],"data_offsets":[0,6912]}}' 64
    expect 1 "features.0.weight" -- run --weights "$tmp/o.safetensors" ;;
  weights-dtype) st_file "$tmp/d.safetensors" '{"features.0.weight":{"dtype":"BF16","shape":[64,3,3,3],"data_offsets":[0,3456]},"features.0.bias":{"dtype":"F32","shape":[64],"data_offsets":[3456,3712]}}' 3712
    expect 1 "dtype BF16" -- run --weights "$tmp/d.safetensors" ;;
  weights-shape) st_file "$tmp/s.safetensors" '{"features.0.weight":{"dtype":"F32","shape":[64,3,5,5],"data_offsets":[0,19200]}}' 19200
    expect 1 "shape [64,3,5,5]; expected [64,3,3,3]" -- run --weights "$tmp/s.safetensors" ;;
  weights-missing-tensor) st_file "$tmp/m.safetensors" '{"features.0.weight":{"dtype":"F32","shape":[64,3,3,3],"data_offsets":[0,6912]}}' 6912
    expect 1 "'features.0.bias' is missing" -- run --weights "$tmp/m.safetensors" ;;
  negative-iterations) expect 2 "--iterations" -- run --iterations -3 ;;
  bad-size) expect 2 "--size" -- run --size 0 ;;
  unknown-layer) expect 2 "unknown layer 'relu6_1'" -- run --style-layers relu1_1,relu6_1 ;;
  bad-blend) expect 2 "--style-blend" -- run --style-blend 1,2 ;;
  bad-blend-value) expect 2 "--style-blend" -- run -s "$s,$s" --style-blend 1,abc ;;
  bad-weight) expect 2 "--style-weight" -- run --style-weight -1 ;;
  unknown-option) expect 2 "unknown option '--colour'" -- run --colour ;;
  bad-device) "$bin" --list-devices > /dev/null 2>&1 || { echo "SKIP: no OpenCL device"; exit 77; }
    expect 2 "--device" -- run --backend opencl --device no-such-device-xyz ;;
  output-is-folder) expect 2 "is a folder" -- run -o "$tmp" ;;
  output-folder) real_weights; out=$tmp/missing/dir/out.png; expect 1 "missing/dir" -- run -o "$out" ;;
  device-memory) real_weights
    "$bin" --list-devices > /dev/null 2>&1 || { echo "SKIP: no OpenCL device"; exit 77; }
    export CLSTYLE_DEVICE_MEM_MB=600 # above the weights and their prepared copies (CPU: ~230 MiB)
    expect 1 "out of device memory" -- "$bin" -c "$c" -s "$s" -o "$out" --size 512 --iterations 1 -q
    grep -q "would fit this device" "$tmp/stderr" || fail "no size suggested: $(cat "$tmp/stderr")"
    fit=$(sed -n 's/.*--size \([0-9]*\) would fit.*/\1/p' "$tmp/stderr")
    "$bin" -c "$c" -s "$s" -o "$out" --size "$fit" --iterations 1 -q || fail "the suggested --size $fit does not run" ;;
  too-small) real_weights; expect 2 "too small" -- run --size 20 ;;
  keep-existing) real_weights
    printf 'precious' > "$out"
    "$bin" -c "$tmp/nope.png" -s "$s" -o "$out" -q --backend reference 2> /dev/null && fail "should fail"
    [ "$(cat "$out")" = precious ] || fail "existing output was clobbered" ;;
  interrupt) real_weights
    "$bin" -c "$c" -s "$s" -o "$out" --size 64 --iterations 100000 -q --backend reference 2> "$tmp/stderr" &
    pid=$!; sleep 3; kill -INT $pid; wait $pid; rc=$?
    [ $rc -eq 1 ] || fail "interrupted run exit $rc"
    grep -q "interrupted" "$tmp/stderr" || fail "message: $(cat "$tmp/stderr")"
    [ ! -e "$out" ] || fail "interrupted run wrote the output" ;;
  *) fail "unknown case" ;;
esac
echo "ok: $case"
