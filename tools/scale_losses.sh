#!/usr/bin/env bash
# A result's losses at several sizes (issue 19's measure): for each size S,
# clstyle evaluates RESULT resized to S against CONTENT and STYLE at S
# (`--init RESULT --iterations 0 --size S`) and this prints one markdown row
# of its style losses, then its content losses, per size. Whether a large
# picture "looks like the painting at every scale" is whether its style
# loss is low at N/4 and N/2 as well as at N.
#   usage: tools/scale_losses.sh CLSTYLE CONTENT STYLE RESULT SIZES [clstyle options]
#   e.g.   tools/scale_losses.sh build/clstyle photo.png starry.png out.png "256 512 1024"
# The options (layers, weights, --style-scale ...) must be the run's own.
set -eu
bin=${1:?usage: scale_losses.sh CLSTYLE CONTENT STYLE RESULT SIZES [options]}
content=${2:?CONTENT} style=${3:?STYLE} result=${4:?RESULT} sizes=${5:?SIZES}
shift 5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
styles="" contents=""
for s in $sizes; do
  "$bin" -c "$content" -s "$style" -o "$tmp/x.png" --init "$result" --iterations 0 --size "$s" --log "$tmp/$s.jsonl" -q "$@"
  read -r c st < <(python3 -c "
import json, sys
e = next(json.loads(l) for l in open(sys.argv[1]) if l.startswith('{\"iter\":0,'))
print('%.4g %.4g' % (e['content'], e['style']))" "$tmp/$s.jsonl")
  styles="$styles | $st" contents="$contents | $c"
done
echo "| $(basename "$result")$styles$contents |"
