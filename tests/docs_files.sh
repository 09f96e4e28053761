#!/usr/bin/env bash
# Every repository path the architecture document (and the README) names
# exists: each backtick-quoted path under src/, cl/, include/, tests/, tools/,
# docs/ or examples/ (relative to the repository root; one ending in / must be
# a folder), and each relative link or image target (relative to the
# document). Paths inside fenced code blocks, and spans with a space or a
# wildcard (commands, globs), are not paths.
# usage: docs_files.sh ROOT [FILE...]   FILEs relative to ROOT; default docs/design.md README.md
set -u
root=${1:?usage: docs_files.sh ROOT [FILE...]}
shift
cd "$root" || { echo "FAIL: cannot enter $root" >&2; exit 1; }
[ $# -gt 0 ] || set -- docs/design.md README.md

# Prints "KIND<TAB>LINE<TAB>PATH" for each candidate: KIND is code (a
# backtick-quoted path) or link (a Markdown link or image target).
candidates() {
  awk '
    /^[ \t]*(```|~~~)/ { fenced = !fenced; next }
    fenced { next }
    {
      s = $0
      while (match(s, /`[^`]+`/)) {
        p = substr(s, RSTART + 1, RLENGTH - 2)
        s = substr(s, RSTART + RLENGTH)
        if (p ~ /^(src|cl|include|tests|tools|docs|examples)\/[^ \t*?]*$/) printf "code\t%d\t%s\n", NR, p
      }
      s = $0
      gsub(/`[^`]+`/, "", s)    # a link written inside code is text
      while (match(s, /\]\([^) \t]+\)/)) {
        p = substr(s, RSTART + 2, RLENGTH - 3)
        s = substr(s, RSTART + RLENGTH)
        sub(/#.*/, "", p)
        if (p != "" && p !~ /^[a-zA-Z][a-zA-Z0-9+.-]*:/) printf "link\t%d\t%s\n", NR, p
      }
    }' "$1"
}

fail=0 checked=0
for doc in "$@"; do
  if [ ! -r "$doc" ]; then
    echo "FAIL: $doc: cannot read it" >&2
    fail=1
    continue
  fi
  dir=$(dirname "$doc")
  while IFS=$'\t' read -r kind line path; do
    target=$path
    [ "$kind" = link ] && target=$dir/$path
    checked=$((checked + 1))
    case $path in
      */) [ -d "$target" ] && continue; what="folder" ;;
      *) [ -e "$target" ] && continue; what="file or folder" ;;
    esac
    echo "FAIL: $doc:$line: $what $path does not exist" >&2
    fail=1
  done < <(candidates "$doc")
done
[ "$fail" = 0 ] || exit 1
echo "ok: $checked paths in $* exist"
