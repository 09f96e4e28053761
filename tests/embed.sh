#!/usr/bin/env bash
# Installs the library into a temporary prefix, builds examples/embed.c
# against it with pkg-config alone (as an application would), and styles
# two photos with it through one session.
# usage: embed.sh SOURCE_ROOT BUILD_ROOT EXAMPLES_DIR   (weights: $CLSTYLE_WEIGHTS)
set -euo pipefail
src=$1 build=$2 examples=$3
[ -n "${CLSTYLE_WEIGHTS:-}" ] || { echo "SKIP: CLSTYLE_WEIGHTS is not set"; exit 77; }
command -v pkg-config >/dev/null || { echo "SKIP: no pkg-config"; exit 77; }
tmp=$(mktemp -d /tmp/clstyle-embed-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
meson install -C "$build" --destdir "$tmp/root" --quiet >/dev/null
pc=$(dirname "$(find "$tmp/root" -name clstyle.pc | head -n 1)")
[ -n "$pc" ] || { echo "FAIL: no clstyle.pc installed"; exit 1; }
# The .pc names the real prefix; the sysroot puts its -I and -L paths where it was installed.
export PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$tmp/root
flags=$(pkg-config --cflags --libs clstyle)
libdir=$(dirname "$pc")
cc -std=c11 -Wall -Werror "$src/examples/embed.c" $flags -o "$tmp/embed"
LD_LIBRARY_PATH=$libdir "$tmp/embed" "$CLSTYLE_WEIGHTS" "$examples/starry_night.png" "$tmp/out" \
  "$examples/tubingen.png" "$examples/golden_gate.png" > "$tmp/log"
cat "$tmp/log"
for i in 1 2; do
  [ "$(head -c 8 "$tmp/out$i.png" | od -An -tx1 | tr -d ' ')" = 89504e470d0a1a0a ] || { echo "FAIL: out$i.png is not a PNG"; exit 1; }
done
[ "$(grep -c 'style targets computed' "$tmp/log")" -eq 1 ] && [ "$(grep -c 'style targets reused' "$tmp/log")" -eq 1 ] ||
  { echo "FAIL: the second photo did not reuse the style targets"; exit 1; }
echo "embed: 2 photos styled through one session"
