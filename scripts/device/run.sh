#!/usr/bin/env bash
# Runs on the GPU machine (through the device tool, from the repository
# root, with .device/bundle.tar.gz carried): unpacks the bundle into
# .device/run, finds the NVIDIA driver's libraries, records the machine,
# and runs gpubench, which checks the GPU render's pixels against the CPU
# render and runs the benchmark. Everything lands in $OUT (or .device/out):
# machine.txt, gpubench.log, results.json, results.md.
#
# Knobs (environment): RUNS (side-by-side runs, 3), BUDGET (the sweep's
# wall-time budget, 4m), MAX_CONCURRENCY (32), ROUNDS (renders per slot
# and level, 2).
set -uo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/../.."
out=${OUT:-$PWD/.device/out}
mkdir -p "$out"
run=$PWD/.device/run
rm -rf "$run"
mkdir -p "$run"
if command -v tar >/dev/null; then
  tar -C "$run" -xzf .device/bundle.tar.gz
else
  python3 -c 'import sys,tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .device/bundle.tar.gz "$run"
fi || { echo "run: cannot unpack .device/bundle.tar.gz (carry it: run scripts/device/bundle.sh here first)" | tee "$out/error.txt" >&2; exit 1; }

# The driver's libraries: wherever the machine's linker cache or the usual
# container mounts put libcuda.so.1.
driver=
for d in $( (ldconfig -p 2>/dev/null | awk '/libcuda\.so\.1 /{print $NF}' | xargs -r -n1 dirname) ) \
  /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/nvidia/lib64 /usr/local/cuda/compat /usr/lib/wsl/lib; do
  if [ -e "$d/libcuda.so.1" ]; then driver=$d; break; fi
done
export STICKERD_DRIVER_LIBS=$driver

{
  echo "# machine"; date -u; uname -a; nproc; free -g | head -2
  echo; echo "# driver libraries: ${driver:-none found}"
  ls -l "$driver"/libcuda.so.1 "$driver"/libnvcuvid.so.1 "$driver"/libnvidia-encode.so.1 2>&1
  echo; echo "# nvidia-smi"; nvidia-smi 2>&1 | head -20
  nvidia-smi --query-gpu=name,driver_version,memory.total,encoder.stats.sessionCount --format=csv 2>&1
  echo; echo "# bundle"; cat "$run/VERSION"
  "$run/bin/ffmpeg" -hide_banner -hwaccels 2>&1 | tr '\n' ' '; echo
  "$run/bin/ffmpeg" -hide_banner -filters 2>&1 | grep -E 'cuda|hwupload|hwdownload'
  echo; echo "# a CUDA device from ffmpeg"
  "$run/bin/ffmpeg" -hide_banner -v verbose -init_hw_device cuda=gpu -f lavfi -i nullsrc=s=64x64:d=0.04 -f null - 2>&1 | grep -iE 'cuda|error|fail' | head -10
} >"$out/machine.txt" 2>&1
cat "$out/machine.txt"

"$run/bin/gpubench" -ffmpeg "$run/bin/ffmpeg" -ffprobe "$run/bin/ffprobe" -out "$out" \
  -runs "${RUNS:-3}" -budget "${BUDGET:-4m}" -max-concurrency "${MAX_CONCURRENCY:-32}" -rounds "${ROUNDS:-2}" 2>&1 | tee "$out/gpubench.log"
rc=${PIPESTATUS[0]}
echo "run: gpubench exited $rc; results in $out" | tee -a "$out/gpubench.log"
exit "$rc"
