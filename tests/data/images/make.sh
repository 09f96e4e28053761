#!/usr/bin/env bash
# Regenerates the small test images here (committed; tests do not run this).
# Debian: imagemagick, libjpeg-turbo-progs, libimage-exiftool-perl.
# upright: 32x16, red top-left, green top-right, blue bottom-left, white
# bottom-right; quadrants on 8x8 JPEG block borders so colours stay clean.
# orient-N.jpg stores the picture so that EXIF orientation N shows it
# upright (ImageMagick's -auto-orient, an independent implementation, is
# checked to undo it below).
set -euo pipefail
cd "$(dirname "$0")"
t=$(mktemp -d); trap 'rm -rf "$t"' EXIT
convert -size 16x8 xc:red -size 16x8 xc:lime +append \( -size 16x8 xc:blue -size 16x8 xc:white +append \) -append \
  +repage -strip PNG24:"$t/upright.png"
inverse=(x "" "-flop" "-rotate 180" "-flip" "-transpose" "-rotate -90" "-transverse" "-rotate 90")
for n in 1 2 3 4 5 6 7 8; do
  # shellcheck disable=SC2086
  convert "$t/upright.png" ${inverse[$n]} +repage -strip PNG24:"$t/stored.png"
  convert "$t/stored.png" -quality 95 -sampling-factor 1x1 -strip "orient-$n.jpg"
  exiftool -q -overwrite_original -n -Orientation="$n" "orient-$n.jpg"
  convert "orient-$n.jpg" -auto-orient "$t/check.png"
  [ "$(compare -metric AE -fuzz 10% "$t/check.png" "$t/upright.png" null: 2>&1)" = 0 ] || { echo "orient-$n.jpg is wrong"; exit 1; }
done
convert "$t/upright.png" -rotate -90 +repage -define png:exclude-chunks=date,time PNG24:"orient-6.png"
exiftool -q -q -overwrite_original -n -Orientation=6 orient-6.png
cp "$t/upright.png" upright.png
# Decoder variants of the same picture (cjpeg reads PPM, not PNG).
convert "$t/upright.png" "$t/upright.ppm"
cjpeg -quality 95 -sample 1x1 -progressive "$t/upright.ppm" > progressive.jpg
cjpeg -quality 95 -sample 1x1 -restart 1B "$t/upright.ppm" > restart.jpg
convert "$t/upright.png" -colorspace Gray -quality 95 grey.jpg
convert "$t/upright.png" -colorspace CMYK -quality 95 -sampling-factor 1x1 cmyk.jpg
