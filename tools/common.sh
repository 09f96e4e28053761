# Shared by tools/demo and tools/test: install missing Debian/Ubuntu packages,
# build into build/. Source it from the repository root.

# OpenCL stacks the tests run on: PoCL (CPU), Mesa's rusticl (the stack of
# AMD and Intel GPUs on open drivers; llvmpipe gives a CPU device) and Oclgrind
# (a simulator that checks every memory access: the oclgrind suite).
CLSTYLE_PACKAGES="gcc libc6-dev meson ninja-build pkg-config python3 libpng-dev libjpeg-dev ocl-icd-opencl-dev opencl-c-headers libclblast-dev pocl-opencl-icd mesa-opencl-icd oclgrind"
# Clips: FFmpeg's libraries read and write them (the meson feature `video`; its command
# line, ffmpeg and ffprobe, is the tests' independent checker); OpenCV's DIS optical flow
# (the meson feature `flow`, behind a C++ wrapper); opencv-doc carries the real test clip.
CLSTYLE_PACKAGES="$CLSTYLE_PACKAGES libavformat-dev libavcodec-dev libswscale-dev libavutil-dev ffmpeg g++ libopencv-video-dev opencv-doc"

# Only the cluster suite's test (tests/slurm.sh) needs these; it installs them itself.
CLSTYLE_CLUSTER_PACKAGES="slurm-wlm munge"

# Installs what is missing: with apt-get when root, otherwise prints the command.
install_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    echo "clstyle: please install: ${missing[*]} (Debian/Ubuntu names)" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    echo "clstyle: missing packages; run:  sudo apt-get install -y ${missing[*]}" >&2
    return 1
  fi
  echo "clstyle: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Configures (once) and builds build/. Extra meson options: CLSTYLE_MESON_ARGS.
build_clstyle() {
  if [ ! -f build/build.ninja ]; then
    meson setup build --buildtype=release ${CLSTYLE_MESON_ARGS:-} >/dev/null || return 1
  elif [ -n "${CLSTYLE_MESON_ARGS:-}" ]; then
    meson configure build ${CLSTYLE_MESON_ARGS} >/dev/null || return 1
  fi
  ninja -C build >/dev/null || ninja -C build
}
