#!/usr/bin/env bash
# The README's option table and `clstyle --help` name the same options, in
# both directions. usage: readme_options.sh CLSTYLE README.md
set -u
bin=$1 readme=$2
help_opts=$("$bin" --help | sed -n 's/^  \(-[a-z], \|    \)\(--[a-z0-9-]*\).*/\2/p' | sort)
readme_opts=$(sed -n '/^<!-- options:/,/^<!-- \/options -->/p' "$readme" |
  sed -n 's/^| `\(-[a-z], \)\{0,1\}\(--[a-z0-9-]*\).*/\2/p' | sort)
[ -n "$help_opts" ] || { echo "FAIL: no options found in --help" >&2; exit 1; }
[ -n "$readme_opts" ] || { echo "FAIL: no option table found in $readme" >&2; exit 1; }
missing=$(comm -23 <(echo "$help_opts") <(echo "$readme_opts"))
extra=$(comm -13 <(echo "$help_opts") <(echo "$readme_opts"))
[ -z "$missing" ] || echo "FAIL: in --help but not in the README's option table:" $missing >&2
[ -z "$extra" ] || echo "FAIL: in the README's option table but not in --help:" $extra >&2
[ -z "$missing$extra" ] || exit 1
echo "ok: $(echo "$help_opts" | wc -l) options in both"
