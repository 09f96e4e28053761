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
img=$(dirname "$0")/data/images
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

# Waits (up to 120 s, for a loaded machine) until file $1 has a line matching $2.
wait_for() {
  local i
  for i in $(seq 1200); do grep -q -- "$2" "$1" 2> /dev/null && return 0; sleep 0.1; done
  fail "no line '$2' in $1 after 120 s: $(cat "$1")"
}

# Starts a long run in the background ($pid), its stderr in $tmp/stderr; -v
# prints each setup step, so a signal can be aimed at one.
start_long() {
  "$bin" -c "$c" -s "$s" -o "$out" --backend reference -v "$@" 2> "$tmp/stderr" &
  pid=$!
}

# Waits for the run; checks exit 130, a message with $1, and the time the
# signal took to act (at most $2 seconds).
expect_interrupted() {
  local t0=$SECONDS
  wait $pid; local rc=$?
  [ $rc -eq 130 ] || fail "interrupted run exit $rc, want 130; stderr: $(cat "$tmp/stderr")"
  grep -q "$1" "$tmp/stderr" || fail "message lacks '$1': $(cat "$tmp/stderr")"
  [ $((SECONDS - t0)) -le "$2" ] || fail "took $((SECONDS - t0)) s to stop, more than $2 s"
  [ -z "$(ls -A "$tmp" | grep '^\.out')" ] || fail "temporary output left behind"
}

# Two small pictures for a batch, in $tmp/in.
batch_inputs() { mkdir -p "$tmp/in"; cp "$c" "$tmp/in/a.png"; cp "$ex/golden_gate.png" "$tmp/in/b.png"; }

# counts SUMMARY.json "DONE FAILED SKIPPED"
counts() { [ "$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["done"],s["failed"],s["skipped"])' "$1")" = "$2" ]; }

is_png() { [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ]; }

case $case in
  content-missing) real_weights; expect 1 "$tmp/nope.png" -- run -c "$tmp/nope.png" ;;
  content-empty) real_weights; : > "$tmp/empty.png"; expect 1 "empty.png" -- run -c "$tmp/empty.png" ;;
  content-not-png) real_weights; printf 'GIF89a not really' > "$tmp/photo.png"; expect 1 "photo.png: not a supported image (supported: PNG" -- run -c "$tmp/photo.png" ;;
  content-fake-jpeg) real_weights; printf '\xff\xd8\xff\xe0JFIF not really' > "$tmp/photo.png"; expect 1 "photo.png: corrupt or truncated JPEG" -- run -c "$tmp/photo.png" ;;
  jpeg-truncated) real_weights; head -c 300 "$img/progressive.jpg" > "$tmp/cut.jpg"; expect 1 "cut.jpg: corrupt or truncated JPEG" -- run -c "$tmp/cut.jpg" ;;
  jpeg-no-end) real_weights; size=$(stat -c %s "$img/orient-1.jpg"); head -c $((size - 2)) "$img/orient-1.jpg" > "$tmp/noeoi.jpg"
    expect 1 "noeoi.jpg: corrupt or truncated JPEG (Premature end" -- run -s "$tmp/noeoi.jpg" ;;
  jpeg-corrupt) real_weights; cp "$img/orient-1.jpg" "$tmp/bad.jpg"; size=$(stat -c %s "$tmp/bad.jpg")
    printf '\xff\xd3' | dd of="$tmp/bad.jpg" bs=1 seek=$((size - 8)) conv=notrunc status=none # a stray restart marker
    expect 1 "bad.jpg: corrupt or truncated JPEG" -- run --init "$tmp/bad.jpg" ;;
  jpeg-output-bits16) expect 2 "--bits 16" -- run -o "$tmp/out.jpg" --bits 16 ;;
  quality-png) expect 2 "is a PNG output" -- run --quality 80 ;;
  input-too-large) real_weights; expect 1 "tubingen.png: image is" -- run --max-input-mp 0.01
    grep -q -- "--max-input-mp" "$tmp/stderr" || fail "message does not name --max-input-mp: $(cat "$tmp/stderr")" ;;
  exif-lying-offset) real_weights; cp "$img/orient-6.jpg" "$tmp/lying.jpg"
    at=$(grep -obUa Exif "$tmp/lying.jpg" | head -n 1 | cut -d: -f1)
    printf '\x7f' | dd of="$tmp/lying.jpg" bs=1 seek=$((at + 6 + 4)) conv=notrunc status=none # IFD0 offset ~2^31 (MM order)
    expect 1 "lying.jpg: corrupt EXIF block" -- run -c "$tmp/lying.jpg" ;;
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
  tile-and-band) expect 2 "--tile and --band" -- run --tile 32 --band 32 ;;
  band-not-16) expect 2 "--band: expected a multiple of 16" -- run --band 20 ;;
  unknown-layer) expect 2 "unknown layer 'relu6_1'" -- run --style-layers relu1_1,relu6_1 ;;
  bad-blend) expect 2 "--style-blend" -- run --style-blend 1,2 ;;
  bad-blend-value) expect 2 "--style-blend" -- run -s "$s,$s" --style-blend 1,abc ;;
  blend-empty-item) expect 2 "without empty items" -- run -s "$s,$s,$s" --style-blend 1,,2 ;;
  bad-weight) expect 2 "--style-weight" -- run --style-weight -1 ;;
  unknown-option) expect 2 "unknown option '--colour'" -- run --colour ;;
  bad-device) "$bin" --list-devices > /dev/null 2>&1 || { echo "SKIP: no OpenCL device"; exit 77; }
    expect 2 "--device" -- run --backend opencl --device no-such-device-xyz ;;
  output-is-folder) expect 2 "is a folder" -- run -o "$tmp" ;;
  output-folder) real_weights; out=$tmp/missing/dir/out.png; expect 1 "missing/dir" -- run -o "$out" ;;
  device-memory) real_weights
    "$bin" --list-devices > /dev/null 2>&1 || { echo "SKIP: no OpenCL device"; exit 77; }
    # Below what even the smallest bands or pieces need (the weights alone
    # take 80 MB): refused up front with the budget that would do.
    export CLSTYLE_DEVICE_MEM_MB=60
    expect 1 "needs at least" -- "$bin" -c "$c" -s "$s" -o "$out" --size 512 --iterations 1 -q
    need=$(sed -n 's/.*needs at least \([0-9]*\) MiB.*/\1/p' "$tmp/stderr")
    [ -n "$need" ] && [ "$need" -gt 60 ] || fail "no smallest budget given: $(cat "$tmp/stderr")"
    # That budget is accepted by the planner (the run itself, in 16-row bands, is not waited for).
    unset CLSTYLE_DEVICE_MEM_MB
    : > "$tmp/plan"
    "$bin" -c "$c" -s "$s" -o "$out" --size 512 --iterations 1 --max-memory "$need" -q -v 2> "$tmp/plan" &
    pid=$!
    for _ in $(seq 120); do grep -q "evaluating \|needs at least\|error\|failed" "$tmp/plan" && break; sleep 1; done
    kill -9 "$pid" 2> /dev/null; wait "$pid" 2> /dev/null
    grep -q "evaluating .* \(pieces\|bands\)" "$tmp/plan" || fail "--max-memory $need was not planned: $(cat "$tmp/plan")"
    rm -f "$out" ;;
  too-small) real_weights; expect 2 "too small" -- run --size 20 ;;
  keep-existing) real_weights
    printf 'precious' > "$out"
    "$bin" -c "$tmp/nope.png" -s "$s" -o "$out" -q --backend reference 2> /dev/null && fail "should fail"
    [ "$(cat "$out")" = precious ] || fail "existing output was clobbered" ;;
  interrupt) real_weights # during the iterations: the picture so far is kept
    start_long --size 32 --iterations 100000 --log "$tmp/log.jsonl"
    wait_for "$tmp/log.jsonl" '"iter":2,'
    kill -INT $pid
    expect_interrupted "holds the result so far" 60
    is_png "$out" || fail "no PNG written"
    last=$(tail -n 1 "$tmp/log.jsonl")
    case "$last" in '{"event":"interrupted","iter":'*) ;; *) fail "last log line: $last";; esac
    n=$(sed -n 's/.*"iter":\([0-9]*\).*/\1/p' "$tmp/log.jsonl" | tail -n 2 | uniq | wc -l)
    [ "$n" -eq 1 ] || fail "the interrupted line names another iteration than the last: $(tail -n 2 "$tmp/log.jsonl")" ;;
  interrupt-setup) real_weights # while the targets are computed: a layer at a time, nothing written
    start_long --size 320 --iterations 10
    wait_for "$tmp/stderr" "computing the style and content targets"
    kill -INT $pid
    expect_interrupted "interrupted while" 20
    [ ! -e "$out" ] || fail "interrupted setup wrote the output" ;;
  interrupt-weights) real_weights # SIGTERM while reading the inputs or weights
    start_long --size 320 --iterations 10
    wait_for "$tmp/stderr" "reading the content image"
    kill -TERM $pid
    expect_interrupted "interrupted while" 20
    [ ! -e "$out" ] || fail "interrupted setup wrote the output" ;;
  interrupt-iter0) real_weights # --iterations 0 honours the signal too
    start_long --size 320 --iterations 0
    wait_for "$tmp/stderr" "computing the style and content targets"
    kill -INT $pid
    expect_interrupted "interrupted while" 20
    [ ! -e "$out" ] || fail "interrupted run wrote the output" ;;
  interrupt-twice) real_weights # the second signal ends the run at once, writing nothing
    start_long --size 64 --iterations 100000 --log "$tmp/log.jsonl"
    wait_for "$tmp/log.jsonl" '"iter":0,'
    # Two kinds, sent together: both land in the same evaluation, and neither
    # can merge into the other while pending, as a repeated SIGINT could.
    kill -INT $pid; kill -TERM $pid
    expect_interrupted "interrupted again" 5
    [ ! -e "$out" ] || fail "a second signal still wrote the output" ;;
  input-fifo) real_weights # a FIFO would block the open: refused before it
    mkfifo "$tmp/fifo.png"
    expect 1 "fifo.png: the content image is a FIFO" -- timeout 30 "$bin" -c "$tmp/fifo.png" -s "$s" -o "$out" --size 32 -q --backend reference ;;
  weights-fifo) mkfifo "$tmp/w.safetensors"
    expect 1 "w.safetensors: the weights file is a FIFO" -- timeout 30 "$bin" -c "$c" -s "$s" -o "$out" --weights "$tmp/w.safetensors" -q ;;
  # Output targets: refused before anything is loaded (the weights named here do not exist).
  output-fifo) mkfifo "$tmp/out.fifo"
    expect 2 "is a FIFO" -- timeout 30 "$bin" -c "$c" -s "$s" -o "$tmp/out.fifo" --weights "$tmp/none" -q
    [ -p "$tmp/out.fifo" ] || fail "the FIFO was replaced" ;;
  output-device) [ "$(id -u)" -eq 0 ] || { echo "SKIP: mknod needs root"; exit 77; }
    mknod "$tmp/null" c 1 3 || { echo "SKIP: mknod refused"; exit 77; }
    expect 2 "is a character device" -- run -o "$tmp/null" --weights "$tmp/none"
    [ -c "$tmp/null" ] || fail "the device node was replaced" ;;
  output-symlink) printf 'target' > "$tmp/target.png"; ln -s "$tmp/target.png" "$tmp/link.png"
    expect 2 "is a symbolic link" -- run -o "$tmp/link.png" --weights "$tmp/none"
    [ -L "$tmp/link.png" ] && [ "$(cat "$tmp/target.png")" = target ] || fail "the link or its target changed" ;;
  output-is-content) cp "$c" "$tmp/c.png"
    expect 2 "same file as the content image" -- run -c "$tmp/c.png" -o "$tmp/c.png" --weights "$tmp/none"
    cmp -s "$c" "$tmp/c.png" || fail "the content image changed" ;;
  output-is-style) cp "$s" "$tmp/s.png"; ln "$tmp/s.png" "$tmp/hardlink.png" # another name, same inode
    expect 2 "same file as a style image" -- run -s "$tmp/s.png" -o "$tmp/hardlink.png" --weights "$tmp/none"
    cmp -s "$s" "$tmp/s.png" || fail "the style image changed" ;;
  output-is-init) cp "$c" "$tmp/i.png"
    expect 2 "same file as the --init image" -- run --init "$tmp/i.png" -o "$tmp/./i.png" --weights "$tmp/none" ;;
  output-is-weights) printf 'w' > "$tmp/w.safetensors"
    expect 2 "same file as the weights file" -- run -o "$tmp/w.safetensors" --weights "$tmp/w.safetensors"
    [ "$(cat "$tmp/w.safetensors")" = w ] || fail "the weights changed" ;;
  output-is-log) : > "$tmp/log.jsonl"
    expect 2 "same file as the --log file" -- run -o "$tmp/log.jsonl" --log "$tmp/log.jsonl" --weights "$tmp/none" ;;
  log-is-input) cp "$c" "$tmp/c.png"
    expect 2 "--log $tmp/c.png is the same file as the content image" -- run -c "$tmp/c.png" --log "$tmp/c.png" --weights "$tmp/none"
    cmp -s "$c" "$tmp/c.png" || fail "the content image changed" ;;
  output-empty) expect 2 "--output" -- run -o "" --weights "$tmp/none" ;;
  output-too-long) long=$tmp$(printf '/%0200d' $(seq 25))/out.png
    expect 2 "limit is 4095 (PATH_MAX)" -- run -o "$long" --weights "$tmp/none" ;;
  output-name-too-long) expect 2 "file name is 300 characters long" -- run -o "$tmp/$(printf '%0296d' 0).png" --weights "$tmp/none" ;;
  # Errors that keep their cause.
  log-unopenable) real_weights; expect 1 "nodir/run.jsonl: cannot open log file" -- run --log "$tmp/nodir/run.jsonl" ;;
  log-full) real_weights; expect 1 "/dev/full: cannot write the log: No space left on device" -- run --log /dev/full ;;
  disk-full) real_weights
    [ "$(id -u)" -eq 0 ] || { echo "SKIP: mounting a small tmpfs needs root"; exit 77; }
    mkdir "$tmp/small"
    mount -t tmpfs -o size=4k tmpfs "$tmp/small" 2> /dev/null || { echo "SKIP: cannot mount a tmpfs here"; exit 77; }
    trap 'umount "$tmp/small"; rm -rf "$tmp"' EXIT
    out=$tmp/small/out.png
    expect 1 "$out: cannot write: No space left on device" -- run --size 64 --iterations 0
    [ -z "$(ls -A "$tmp/small")" ] || fail "left behind: $(ls -A "$tmp/small")" ;;
  # Weights that lie in size: a valid header of 400k small entries is read in
  # moments and little memory (it took a minute and 8.6 GB), then refused.
  weights-many-keys) python3 - "$tmp/many.safetensors" <<'PY'
import struct, sys
h = "{" + ",".join('"t.%d":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}' % i for i in range(400000)) + "}"
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h.encode())
PY
    # 4 GB of address space: ample for a 23 MB header read well (a sanitizer needs far more for itself)
    [ -n "${CLSTYLE_TEST_SANITIZED:-}" ] || ulimit -v 4000000 2> /dev/null
    expect 1 "'features.0.weight' is missing" -- timeout 30 "$bin" -c "$c" -s "$s" -o "$out" --weights "$tmp/many.safetensors" -q --backend reference ;;
  # Program cache: a damaged entry is checked, removed and rebuilt, silently.
  cache-corrupt) real_weights
    "$bin" --list-devices > /dev/null 2>&1 || { echo "SKIP: no OpenCL device"; exit 77; }
    export CLSTYLE_CACHE_DIR=$tmp/cache
    ocl() { "$bin" -c "$c" -s "$s" -o "$out" --size 32 --iterations 1 -q --backend opencl 2> "$tmp/stderr" || fail "run failed: $(cat "$tmp/stderr")"; }
    ocl
    entry=$(ls "$tmp"/cache/*.bin | head -n 1) && [ -n "$entry" ] && cp "$entry" "$tmp/good.bin" || fail "no cache entry written"
    # A rebuilt entry starts with the header again and is not the damaged bytes
    # (not byte-compared with the first: a driver's binaries may differ run to run).
    rebuilt() { [ "$(head -c 8 "$entry")" = CLSTYLEK ] && ! cmp -s "$entry" "$tmp/damaged" || fail "$1 entry not rebuilt"; }
    head -c 1000 "$tmp/good.bin" > "$entry"; cp "$entry" "$tmp/damaged"; ocl       # truncated
    rebuilt truncated
    cp "$tmp/good.bin" "$entry"
    printf 'X' | dd of="$entry" bs=1 seek=20000 conv=notrunc 2> /dev/null; cp "$entry" "$tmp/damaged"; ocl # one byte changed
    rebuilt damaged
    tail -c +33 "$tmp/good.bin" > "$entry"; cp "$entry" "$tmp/damaged"; ocl        # the bare binary, no header
    rebuilt headerless
    [ ! -s "$tmp/stderr" ] || fail "not silent: $(cat "$tmp/stderr")"
    rm -f "$out" ;;
  # Control (docs/control.md): masks that are missing, miscounted or of another shape.
  mask-missing) real_weights; expect 1 "$tmp/nope.png" -- run -s "$s:$tmp/nope.png" ;;
  mask-count) expect 2 "--style-mask: 1 masks given for 2 style images" -- run -s "$s,$s" --style-mask "$ex/mask_sky.png" ;;
  mask-partial) expect 2 "1 of 2 styles name a mask" -- run -s "$s:$ex/mask_sky.png,$s" ;;
  mask-aspect) real_weights; expect 2 "the content mask of style 1 is 402x512 but its picture is" -- run -s "$s:$ex/the_scream.png" ;;
  style-mask-aspect) real_weights; expect 2 "the mask of style 1 is 512x384 but its picture is 512x320" -- run --style-image-mask "$ex/mask_sky.png" ;;
  layers-per-style-count) expect 2 "--style-layers-per-style: 2 lists given for 1 style images" -- run --style-layers-per-style relu1_1,relu2_1 ;;
  layers-per-style-unknown) expect 2 "unknown layer 'relu9_1'" -- run --style-layers-per-style relu1_1+relu9_1 ;;
  layers-per-style-outside) real_weights; expect 2 "style 1 names layer relu4_2, which is not among the style layers" -- run --style-layers-per-style relu4_2 ;;
  colors-bad) expect 2 "--colors" -- run --colors sepia ;;
  colors-conflict) expect 2 "--original-colors is --colors content" -- run --original-colors --colors histogram ;;
  # Batches (-c a folder, glob or @list): the results go into a folder.
  batch-empty-folder) real_weights; mkdir "$tmp/empty"
    expect 1 "no pictures found" -- run -c "$tmp/empty" -o "$tmp/res"
    [ ! -e "$tmp/res" ] || fail "the output folder was made for nothing" ;;
  batch-list-unreadable) real_weights; expect 1 "cannot read the list" -- run -c "@$tmp/nolist.txt" -o "$tmp/res" ;;
  batch-output-file) real_weights; batch_inputs; printf 'x' > "$tmp/file.png"
    expect 2 "a batch writes its results into a folder" -- run -c "$tmp/in" -o "$tmp/file.png"
    [ "$(cat "$tmp/file.png")" = x ] || fail "the file was changed"
    expect 2 "names a picture" -- run -c "$tmp/in" -o "$tmp/new.png"   # not made as a folder
    [ ! -e "$tmp/new.png" ] || fail "a folder named new.png was made" ;;
  batch-name-clash) real_weights; batch_inputs; cp "$c" "$tmp/in/a.jpg"
    expect 2 "would both write" -- run -c "$tmp/in" -o "$tmp/res" --format png ;;
  batch-only-option) expect 2 "--shard is for a batch" -- run --shard 1/2 ;;
  batch-partial) real_weights; batch_inputs; printf 'not a picture' > "$tmp/in/c.png" # the others still get done
    run -c "$tmp/in" -o "$tmp/res" --summary "$tmp/sum.json" 2> "$tmp/stderr"; rc=$?
    [ $rc -eq 3 ] || fail "exit $rc, want 3 (some failed); stderr: $(cat "$tmp/stderr")"
    grep -q "failed: $tmp/in/c.png: not a supported image" "$tmp/stderr" || fail "failure not named: $(cat "$tmp/stderr")"
    for r in a b; do is_png "$tmp/res/$r.png" && [ -s "$tmp/res/.$r.png.clstyle.json" ] || fail "$r.png or its record missing"; done
    [ ! -e "$tmp/res/c.png" ] || fail "a result for the bad picture"
    python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); assert (s["done"],s["failed"])==(2,1), s; assert [r["status"] for r in s["list"]]==["done","done","failed"], s' "$tmp/sum.json" || fail "summary: $(cat "$tmp/sum.json")"
    rm "$tmp/in/a.png" "$tmp/in/b.png"   # nothing left that can succeed: exit 1
    expect 1 "all 1 pictures failed" -- run -c "$tmp/in" -o "$tmp/res" -q ;;
  batch-record-missing) real_weights; batch_inputs # a result without its record is redone, the others kept
    run -c "$tmp/in" -o "$tmp/res" --iterations 1 2> /dev/null || fail "first run failed"
    touch -d '2001-01-01' "$tmp/res/a.png" "$tmp/res/b.png"; rm "$tmp/res/.a.png.clstyle.json"
    run -c "$tmp/in" -o "$tmp/res" --iterations 1 --summary "$tmp/sum.json" 2> "$tmp/stderr" || fail "rerun failed: $(cat "$tmp/stderr")"
    counts "$tmp/sum.json" "1 0 1" || fail "want a redone, b skipped: $(cat "$tmp/sum.json")"
    [ "$(stat -c %Y "$tmp/res/b.png")" = "$(date -d 2001-01-01 +%s)" ] || fail "b.png was rewritten"
    [ "$(stat -c %Y "$tmp/res/a.png")" != "$(date -d 2001-01-01 +%s)" ] && [ -s "$tmp/res/.a.png.clstyle.json" ] || fail "a.png not redone"
    run -c "$tmp/in" -o "$tmp/res" --iterations 2 --summary "$tmp/sum.json" || fail "rerun failed" # other options: both redone
    counts "$tmp/sum.json" "2 0 0" || fail "other options did not redo: $(cat "$tmp/sum.json")" ;;
  batch-interrupt) real_weights; batch_inputs # SIGINT: the picture in progress is kept without a record; a rerun finishes it
    "$bin" -c "$tmp/in" -s "$s" -o "$tmp/res" --size 32 --iterations 100000 --backend reference --log "$tmp/log.jsonl" 2> "$tmp/stderr" &
    pid=$!
    wait_for "$tmp/log.jsonl" '"iter":2,'
    kill -INT $pid
    expect_interrupted "run again to resume" 60
    is_png "$tmp/res/a.png" || fail "the picture in progress was not written"
    [ ! -e "$tmp/res/.a.png.clstyle.json" ] || fail "an interrupted picture got a record"
    [ ! -e "$tmp/res/b.png" ] || fail "b.png was started"
    grep -q '"event":"summary".*"interrupted":1' "$tmp/log.jsonl" || fail "no summary in the log: $(tail -n 1 "$tmp/log.jsonl")"
    run -c "$tmp/in" -o "$tmp/res" --iterations 1 --summary "$tmp/sum.json" || fail "rerun failed"
    counts "$tmp/sum.json" "2 0 0" || fail "rerun: $(cat "$tmp/sum.json")" ;;
  *) fail "unknown case" ;;
esac
echo "ok: $case"
