#!/usr/bin/env bash
# Batches end to end. usage: batch.sh CLSTYLE EXAMPLES_DIR CASE
#   pairs:   @list x two styles (--each-style), --format jpg, the JSON summary, a rerun that skips all
#   devices: one batch on PoCL and rusticl at once (skipped unless both are there)
set -u
bin=$1 ex=$2 case=$3
tmp=$(mktemp -d /tmp/clstyle-batch-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [$case]: $*" >&2; exit 1; }
[ -n "${CLSTYLE_WEIGHTS:-}" ] && [ -r "$CLSTYLE_WEIGHTS" ] || { echo "SKIP: CLSTYLE_WEIGHTS not set"; exit 77; }
summary() { python3 -c "import json,sys; s=json.load(open('$tmp/sum.json')); print($1)"; }

case $case in
  pairs)
    printf '%s\n%s\n' "$ex/tubingen.png" "$ex/golden_gate.png" > "$tmp/list.txt"
    "$bin" -c "@$tmp/list.txt" -s "$ex/starry_night.png,$ex/the_scream.png" --each-style -o "$tmp/out" --format jpg \
      --size 32 --iterations 2 --backend reference --summary "$tmp/sum.json" 2> "$tmp/stderr" || fail "run failed: $(cat "$tmp/stderr")"
    for n in golden_gate__starry_night golden_gate__the_scream tubingen__starry_night tubingen__the_scream; do
      [ "$(head -c 2 "$tmp/out/$n.jpg" | od -An -tx1 | tr -d ' ')" = ffd8 ] || fail "$n.jpg missing or not a JPEG"
    done
    [ "$(summary 's["done"], len(s["list"]), s["list"][0]["style"].endswith("starry_night.png")')" = "4 4 True" ] ||
      fail "summary: $(cat "$tmp/sum.json")"
    grep -q "setup .* s, pictures .* s" "$tmp/stderr" || fail "no setup and picture times: $(cat "$tmp/stderr")"
    "$bin" -c "@$tmp/list.txt" -s "$ex/starry_night.png,$ex/the_scream.png" --each-style -o "$tmp/out" --format jpg \
      --size 32 --iterations 2 --backend reference --summary "$tmp/sum.json" 2> "$tmp/stderr" || fail "rerun failed"
    [ "$(summary 's["skipped"], s["done"]')" = "4 0" ] || fail "rerun did not skip: $(cat "$tmp/sum.json")" ;;
  devices)
    devs=$("$bin" --list-devices 2> /dev/null)
    echo "$devs" | grep -q '\[pocl' && echo "$devs" | grep -q '\[rusticl' || { echo "SKIP: needs PoCL and rusticl (RUSTICL_ENABLE=llvmpipe)"; exit 77; }
    mkdir "$tmp/in"
    for i in 1 2 3 4; do for p in tubingen golden_gate; do cp "$ex/$p.png" "$tmp/in/$p$i.png"; done; done
    "$bin" -c "$tmp/in" -s "$ex/starry_night.png" -o "$tmp/out" --device pocl,rusticl --size 32 --iterations 10 \
      --summary "$tmp/sum.json" 2> "$tmp/stderr" || fail "run failed: $(cat "$tmp/stderr")"
    cat "$tmp/stderr"
    # rusticl's CPU device is ~100x slower than PoCL: it may do no picture (PoCL backs up its
    # one picture and wins), or not even be needed by the time its session opens.
    [ "$(summary 's["done"], len(s["devices"]), sum(d["pictures"] for d in s["devices"])')" = "8 2 8" ] ||
      fail "want 8 done by 2 devices: $(cat "$tmp/sum.json")"
    [ "$(summary 'all(d["opened"] or d["error"].startswith("not needed") for d in s["devices"])')" = True ] ||
      fail "a device failed: $(cat "$tmp/sum.json")"
    grep -q "pocl, .*: [0-9]* pictures" "$tmp/stderr" && grep -q "rusticl.*: [0-9]* pictures\|--device rusticl: not used: not needed" "$tmp/stderr" ||
      fail "no per-device lines: $(cat "$tmp/stderr")"
    # Two workers on the same kind of device share the work.
    "$bin" -c "$tmp/in" -s "$ex/starry_night.png" -o "$tmp/out2" --device pocl,pocl --size 32 --iterations 10 \
      --summary "$tmp/sum.json" 2> "$tmp/stderr" || fail "run failed: $(cat "$tmp/stderr")"
    cat "$tmp/stderr"
    [ "$(summary 's["done"], sum(d["pictures"] for d in s["devices"])')" = "8 8" ] || fail "pocl,pocl: $(cat "$tmp/sum.json")"
    [ "$(ls "$tmp/out"/*.png | wc -l)" -eq 8 ] || fail "want 8 results" ;;
  *) fail "unknown case" ;;
esac
echo "ok: $case"
