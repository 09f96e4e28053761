#!/usr/bin/env bash
# A real Slurm on this machine: munged, slurmctld and slurmd with a generated
# configuration (one node, count-only GPUs, no cgroups), then
# tools/slurm-array.sbatch over a folder of small pictures. One task is
# cancelled (scancel) in the middle of a picture; the array is submitted
# again. Every picture must be done exactly once over both runs, every
# result be whole with its record, no temporary file be left, and the
# results finished before the resubmission be untouched (mtime).
# Needs root (it installs slurm-wlm and munge with apt-get); else skipped.
#   usage: slurm.sh CLSTYLE SOURCE_ROOT EXAMPLES_DIR
set -u
bin=$(readlink -f "$1") root=$(readlink -f "$2") ex=$(readlink -f "$3")
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
t0=$SECONDS
say() { echo "[$((SECONDS - t0)) s] $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (installs and starts Slurm)"
[ -n "${CLSTYLE_WEIGHTS:-}" ] && [ -r "$CLSTYLE_WEIGHTS" ] || skip "CLSTYLE_WEIGHTS not set"
. "$root/tools/common.sh"
install_packages $CLSTYLE_CLUSTER_PACKAGES > /dev/null 2>&1 || skip "apt-get could not install $CLSTYLE_CLUSTER_PACKAGES"

T=$(mktemp -d /tmp/clstyle-slurm-XXXXXX)
chmod 700 "$T"
pids=()
cleanup() {
  [ -n "${SLURM_CONF:-}" ] && scancel --quiet --user=root 2> /dev/null
  for f in "$T"/slurmd.pid "$T"/slurmctld.pid "$T"/munged.pid; do
    [ -s "$f" ] && kill "$(cat "$f")" 2> /dev/null
  done
  sleep 1
  for f in "$T"/slurmd.pid "$T"/slurmctld.pid "$T"/munged.pid; do
    [ -s "$f" ] && kill -9 "$(cat "$f")" 2> /dev/null
  done
  [ -n "${KEEP_SLURM_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# Two free TCP ports for the daemons (6817/6818 when free).
ports=$(python3 - <<'PY'
import socket
out = []
for want in (6817, 6818, 0, 0):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", want)); out.append(s.getsockname()[1])
    except OSError:
        continue
    finally:
        s.close()
    if len(out) == 2: break
print(*out)
PY
)
read -r ctld_port d_port <<< "$ports"
host=$(hostname -s)

mkdir -p "$T/munge" "$T/state" "$T/spool" "$T/logs1" "$T/logs2"
dd if=/dev/urandom of="$T/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "$T/munge/munge.key"
munged --force --socket="$T/munge/sock" --key-file="$T/munge/munge.key" --pid-file="$T/munged.pid" \
  --log-file="$T/munged.log" --seed-file="$T/munge/seed" || fail "munged did not start: $(cat "$T/munged.log" 2> /dev/null)"

cat > "$T/slurm.conf" <<CONF
ClusterName=clstyletest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$d_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$T/munge/sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
KillWait=60
GresTypes=gpu
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 Gres=gpu:2 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
# Two stand-in GPUs (Slurm drops a GPU without a device file; these are
# /dev/null's): the scheduler hands them out, the pictures run on the CPU.
mkdir "$T/dev"
mknod "$T/dev/gpu0" c 1 3 && mknod "$T/dev/gpu1" c 1 3 || skip "mknod refused (stand-in GPU devices)"
echo "Name=gpu File=$T/dev/gpu[0-1]" > "$T/gres.conf"
export SLURM_CONF=$T/slurm.conf
slurmctld -f "$SLURM_CONF" -i || fail "slurmctld did not start: $(tail -n 5 "$T/slurmctld.log")"
slurmd -f "$SLURM_CONF" || fail "slurmd did not start: $(tail -n 5 "$T/slurmd.log")"
for _ in $(seq 60); do
  sinfo -h -o %T 2> /dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %T | grep -q idle || fail "the node is not idle: $(sinfo 2>&1); $(tail -n 5 "$T/slurmctld.log" "$T/slurmd.log")"
say "Slurm up: slurmctld :$ctld_port, slurmd :$d_port, node $host"

# Six small pictures; PoCL when there is one, else the reference backend.
mkdir "$T/photos" "$T/out"
i=0
for r in 1 2; do
  for p in tubingen golden_gate the_scream; do i=$((i + 1)); cp "$ex/$p.png" "$T/photos/p$i-$p.png"; done
done
opts=(--size 32 --iterations 40 -q)
"$bin" --list-devices 2> /dev/null | grep -q '\[pocl' && opts+=(--device pocl) || opts+=(--backend reference)
export CLSTYLE="$bin" CLSTYLE_CACHE_DIR=$T/kernels
submit() { # LOG_DIR: the array's job id
  CLSTYLE_LOG_DIR=$1 sbatch --parsable --array=1-3 --cpus-per-task=1 --output="$T/task-%A_%a.out" \
    "$root/tools/slurm-array.sbatch" "$T/photos" "$ex/starry_night.png" "$T/out" "${opts[@]}"
}
wait_array() { # JOBID: until no task is left
  for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$1" 2> /dev/null)" ] && return 0
    sleep 1
  done
  fail "array $1 still running after 600 s: $(squeue)"
}

job=$(submit "$T/logs1") || fail "sbatch failed"
say "submitted array $job (3 tasks, 2 pictures each)"
# Task 2: cancelled once its first picture is done and its second is under way.
log2=$T/logs1/task-2.jsonl
for _ in $(seq 600); do
  [ "$(cat "$log2" 2> /dev/null | grep -c '"event":"picture"')" -ge 1 ] && [ "$(grep -c '"iter":' "$log2")" -ge 50 ] && break
  sleep 0.2
done
grep -q '"event":"picture"' "$log2" 2> /dev/null || fail "task 2 did not finish a picture: $(cat "$T"/task-*.out)"
say "task 2: first picture done, second under way; scancel ${job}_2"
scancel "${job}_2"
wait_array "$job"
say "array $job ended: $(cat "$T"/logs1/*.jsonl | grep -c '"event":"picture","status":"done"') pictures done"
grep -q '"event":"interrupted"\|"status":"interrupted"' "$log2" || say "note: task 2 ended between pictures"
# What the first run finished: picture and record; their mtimes must survive the rerun.
declare -A before
for f in "$T"/out/*.png; do
  n=$(basename "$f")
  [ -s "$T/out/.$n.clstyle.json" ] && before[$n]=$(stat -c %Y.%y "$f")
done
[ ${#before[@]} -ge 4 ] && [ ${#before[@]} -le 5 ] || fail "want 4 or 5 results done before the resubmission, got ${#before[@]}"

job2=$(submit "$T/logs2") || fail "sbatch failed"
say "resubmitted as $job2"
wait_array "$job2"
say "array $job2 ended"

for p in "$T"/photos/*.png; do
  n=$(basename "$p")
  is_done=$(cat "$T"/logs1/*.jsonl "$T"/logs2/*.jsonl | grep -c "\"event\":\"picture\",\"status\":\"done\",\"picture\":\"$n\"")
  [ "$is_done" -eq 1 ] || fail "$n done $is_done times over both runs"
  [ -s "$T/out/.$n.clstyle.json" ] || fail "$n has no record"
  python3 - "$T/out/$n" <<'PY' || fail "$n is not a whole PNG"
import sys, zlib, struct
b = open(sys.argv[1], "rb").read()
assert b[:8] == b"\x89PNG\r\n\x1a\n" and b[-8:-4] == b"IEND"
i, data = 8, b""
while i < len(b):
    n, t = struct.unpack(">I4s", b[i:i + 8]); data += b[i + 8:i + 8 + n] if t == b"IDAT" else b""; i += 12 + n
zlib.decompress(data)
PY
done
for n in "${!before[@]}"; do
  [ "$(stat -c %Y.%y "$T/out/$n")" = "${before[$n]}" ] || fail "$n was rewritten by the resubmission"
done
left=$(ls -A "$T/out" | grep -v '\.clstyle\.json$' | grep '^\.' || true)
[ -z "$left" ] || fail "temporary files left: $left"
[ "$(ls "$T/out" | wc -l)" -eq 6 ] || fail "want 6 results: $(ls "$T/out")"
say "ok: 6 pictures, each done once; ${#before[@]} kept from the first run, $((6 - ${#before[@]})) done by the second"
