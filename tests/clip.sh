#!/usr/bin/env bash
# Clips end to end (docs/video.md). usage: clip.sh CLSTYLE EXAMPLES_DIR CASE
#   steady:    24 frames of a real clip (OpenCV's vtest.avi, from Debian's opencv-doc) styled with the
#              temporal term and frame by frame: the temporal error at most a third, the style loss within
#              20%; the video plays (frames, size, rate decoded back) and carries the clip's audio
#   resume:    a run stopped by SIGINT writes a playable video of the frames done and exits 130; the rerun
#              goes on from there; a numbered pattern in and a folder out
#   cut:       four frames of one clip, then four of another: the fifth is a new shot (styled as a
#              first frame, no temporal term), no other frame is
#   bad-input: not a clip, no video stream, a truncated file, a pattern with a gap, a .png output
set -u
bin=$1 ex=$2 case=$3
tmp=$(mktemp -d /tmp/clstyle-clip-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL [$case]: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 77; }
[ -n "${CLSTYLE_WEIGHTS:-}" ] && [ -r "$CLSTYLE_WEIGHTS" ] || skip "CLSTYLE_WEIGHTS not set"
command -v ffprobe > /dev/null && command -v ffmpeg > /dev/null || skip "needs ffmpeg and ffprobe (Debian: ffmpeg)"
"$bin" --list-devices 2> /dev/null | grep -q '\[pocl' || skip "needs PoCL"
real=/usr/share/doc/opencv-doc/examples/data/vtest.avi
style=$ex/starry_night.png
probe() { ffprobe -v error -select_streams "$2" -count_frames -show_entries "stream=$3" -of csv=p=0 "$1"; }
# The mean of a clip summary field in a --log.
field() { python3 -c "import json,sys; print([json.loads(l) for l in open('$1') if '\"clip\"' in l][-1]['$2'])"; }
# The mean over frames of the style loss at each frame's end.
style_mean() {
  python3 -c "
import json
ends = [json.loads(l) for l in open('$1') if '\"event\":\"end\"' in l]
print(sum(e['style'] for e in ends) / len(ends))"
}
# A clip with audio: the real footage (it has none) with a tone muxed in.
with_audio() {
  ffmpeg -v error -i "$real" -f lavfi -i sine=frequency=440:sample_rate=44100 -t "$2" -map 0:v -map 1:a -c:v copy -c:a aac \
    -shortest "$1" || fail "ffmpeg could not make the test clip"
}

case $case in
  steady)
    [ -r "$real" ] || skip "needs $real (Debian: opencv-doc)"
    with_audio "$tmp/in.mkv" 3
    common=(-s "$style" --size 96 --iterations 60 --frame-iterations 20 --frames 1:24 --device pocl)
    "$bin" -c "$tmp/in.mkv" -o "$tmp/temporal.mp4" "${common[@]}" --log "$tmp/t.jsonl" 2> "$tmp/err" ||
      fail "temporal run failed: $(tail -3 "$tmp/err")"
    "$bin" -c "$tmp/in.mkv" -o "$tmp/single.mp4" "${common[@]}" --temporal-weight 0 --video-init content --log "$tmp/s.jsonl" \
      2> "$tmp/err" || fail "frame-by-frame run failed: $(tail -3 "$tmp/err")"
    tail -1 "$tmp/err"
    t=$(field "$tmp/t.jsonl" temporal_error) s=$(field "$tmp/s.jsonl" temporal_error)
    st=$(style_mean "$tmp/t.jsonl") ss=$(style_mean "$tmp/s.jsonl")
    echo "temporal error: temporal $t, frame by frame $s; style loss $st vs $ss"
    python3 -c "import sys; sys.exit(not ($t <= $s / 3))" || fail "temporal error $t is not a third of $s"
    python3 -c "import sys; sys.exit(not ($st <= 1.2 * $ss))" || fail "style loss $st is more than 20% above $ss"
    [ "$(probe "$tmp/temporal.mp4" v:0 nb_read_frames,width,height,r_frame_rate)" = "96,72,10/1,24" ] ||
      fail "video: $(probe "$tmp/temporal.mp4" v:0 nb_read_frames,width,height,r_frame_rate)"
    [ "$(probe "$tmp/temporal.mp4" a:0 codec_name)" = aac ] || fail "no audio in the output"
    [ ! -e "$tmp/.temporal.mp4.frames" ] || fail "the work folder is left behind" ;;
  resume)
    [ -r "$real" ] || skip "needs $real (Debian: opencv-doc)"
    mkdir "$tmp/frames"
    ffmpeg -v error -i "$real" -frames:v 8 -vf scale=128:96 "$tmp/frames/f%03d.png" || fail "ffmpeg could not extract frames"
    "$bin" -c "$tmp/frames/f%03d.png" -s "$style" -o "$tmp/out.mp4" --size 64 --iterations 30 --frame-iterations 100 \
      --fps 8 2> "$tmp/err" &
    pid=$!
    for _ in $(seq 600); do [ -e "$tmp/.out.mp4.frames/000003.png" ] && break; sleep 0.1; done
    kill -INT $pid
    wait $pid
    rc=$?
    [ $rc -eq 130 ] || fail "interrupted run exited $rc: $(tail -3 "$tmp/err")"
    n=$(probe "$tmp/out.mp4" v:0 nb_read_frames)
    [ "$n" -ge 3 ] && [ "$n" -lt 8 ] || fail "the stopped run's video has $n frames"
    "$bin" -c "$tmp/frames/f%03d.png" -s "$style" -o "$tmp/out.mp4" --size 64 --iterations 30 --frame-iterations 100 \
      --fps 8 2> "$tmp/err2" || fail "rerun failed: $(tail -3 "$tmp/err2")"
    grep -q "frames done before; going on from frame $((n + 1))" "$tmp/err2" || fail "did not resume: $(cat "$tmp/err2")"
    [ "$(probe "$tmp/out.mp4" v:0 r_frame_rate,nb_read_frames)" = "8/1,8" ] || fail "resumed video: $(probe "$tmp/out.mp4" v:0 nb_read_frames,r_frame_rate)"
    "$bin" -c "$tmp/frames" --clip -s "$style" -o "$tmp/styled" --size 32 --iterations 5 --frame-iterations 3 --frames 2:4 \
      2> "$tmp/err" || fail "folder run failed: $(tail -3 "$tmp/err")"
    [ "$(ls "$tmp/styled")" = "$(printf '000001.png\n000002.png\n000003.png')" ] || fail "folder output: $(ls "$tmp/styled")"
    "$bin" -c "$tmp/frames" --clip -s "$style" -o "$tmp/styled" --size 32 --iterations 6 --frame-iterations 3 --frames 2:4 \
      2> "$tmp/err"
    [ $? -eq 2 ] && grep -q "holds frames of another run" "$tmp/err" || fail "other options into the same folder: $(cat "$tmp/err")" ;;
  cut)
    tree=/usr/share/doc/opencv-doc/examples/data/tree.avi
    [ -r "$real" ] && [ -r "$tree" ] || skip "needs $real and $tree (Debian: opencv-doc)"
    mkdir "$tmp/f"
    ffmpeg -v error -i "$real" -frames:v 4 -vf scale=64:48 -start_number 1 "$tmp/f/%03d.png" || fail "ffmpeg: frames"
    ffmpeg -v error -i "$tree" -frames:v 4 -vf scale=64:48 -start_number 5 "$tmp/f/%03d.png" || fail "ffmpeg: frames"
    "$bin" -c "$tmp/f/%03d.png" -s "$style" -o "$tmp/out" --size 48 --iterations 10 --frame-iterations 5 --log "$tmp/l.jsonl" \
      2> "$tmp/err" || fail "run failed: $(tail -3 "$tmp/err")"
    cuts=$(python3 -c "import json; print([json.loads(l)['frame'] for l in open('$tmp/l.jsonl') if '\"cut\":true' in l])")
    [ "$cuts" = "[5]" ] || fail "new shots at frames $cuts, want [5]: $(grep -v '^iter' "$tmp/err")"
    grep -q "frame 5 (a new shot" "$tmp/err" || fail "no message for the new shot" ;;
  bad-input)
    echo "not a video" > "$tmp/notes.mp4"
    ffmpeg -v error -f lavfi -i sine=frequency=440 -t 1 "$tmp/tone.m4a" || fail "ffmpeg could not make a tone"
    ffmpeg -v error -f lavfi -i testsrc=size=64x48:rate=10 -t 2 -pix_fmt yuv420p "$tmp/ok.mp4" || fail "ffmpeg: test clip"
    head -c 3000 "$tmp/ok.mp4" > "$tmp/cut.mp4"
    mkdir "$tmp/gap" && cp "$ex/tubingen.png" "$tmp/gap/1.png" && cp "$ex/tubingen.png" "$tmp/gap/3.png"
    check() { # want-rc what args...
      local want=$1 what=$2; shift 2
      "$bin" "$@" -s "$style" --size 32 --iterations 2 --frame-iterations 1 2> "$tmp/err"
      local rc=$?
      [ $rc -eq "$want" ] || fail "$what: exit $rc, want $want: $(cat "$tmp/err")"
      [ "$(grep -c . "$tmp/err")" -ge 1 ] && grep -q "clstyle: " "$tmp/err" || fail "$what: no message"
      echo "$what -> $(head -1 "$tmp/err")"
    }
    check 1 "not a clip" -c "$tmp/notes.mp4" -o "$tmp/o1.mp4"
    check 1 "no video stream" -c "$tmp/tone.m4a" -o "$tmp/o2.mp4"
    check 1 "truncated" -c "$tmp/cut.mp4" -o "$tmp/o3.mp4"
    check 1 "pattern with a gap" -c "$tmp/gap/%d.png" -o "$tmp/o4.mp4"
    check 2 "png output" -c "$tmp/ok.mp4" -o "$tmp/o5.png"
    check 2 "frames past the end" -c "$tmp/ok.mp4" -o "$tmp/o6.mp4" --frames 500:
    cp "$tmp/ok.mp4" "$tmp/keep.mp4"
    check 2 "output is the input" -c "$tmp/ok.mp4" -o "$tmp/ok.mp4"
    cmp -s "$tmp/ok.mp4" "$tmp/keep.mp4" || fail "the input was changed"
    for o in o1.mp4 o2.mp4 o3.mp4 o4.mp4 o5.png o6.mp4; do
      [ ! -e "$tmp/$o" ] || fail "$o was written"
    done ;;
  *) fail "unknown case" ;;
esac
