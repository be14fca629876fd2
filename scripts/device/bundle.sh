#!/usr/bin/env bash
# Packs what the GPU machine needs into .device/bundle.tar.gz (ignored by
# git, carried by the device tool, 64 MiB at most): the ffmpeg and ffprobe
# of build-ffmpeg.sh with every shared library they load, the dynamic
# loader they were linked against (so the machine's own C library, older
# or newer, does not matter), a wrapper for each that starts it through
# that loader, and gpubench built static. The NVIDIA driver's libraries
# (libcuda, libnvcuvid, libnvidia-encode) are the machine's and are not
# packed: ffmpeg opens them at run time, and run.sh says where they are.
#
# Usage: scripts/device/bundle.sh   (builds ffmpeg first when it is missing)
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/../.."
root=$PWD/.device
[ -x "$root/ffmpeg/bin/ffmpeg" ] || scripts/device/build-ffmpeg.sh

stage=$root/stage
rm -rf "$stage"
mkdir -p "$stage/bin" "$stage/libexec" "$stage/lib"
cp "$root/ffmpeg/bin/ffmpeg" "$root/ffmpeg/bin/ffprobe" "$stage/libexec/"
strip "$stage/libexec/ffmpeg" "$stage/libexec/ffprobe"

# Every library ldd resolves, under its soname, and the loader.
loader=
while read -r name arrow path _; do
  case "$name" in
  /*ld-linux*) loader=$name ;;
  esac
  [ "$arrow" = "=>" ] && [ -f "$path" ] && cp -L "$path" "$stage/lib/$name"
done < <(ldd "$stage/libexec/ffmpeg" "$stage/libexec/ffprobe" | grep -v ':$' | sort -u)
[ -n "$loader" ] || { echo "bundle: ldd named no dynamic loader" >&2; exit 1; }
cp -L "$loader" "$stage/lib/ld-linux-x86-64.so.2"

# The wrappers: the bundled loader, the bundled libraries first, then the
# driver's folder (STICKERD_DRIVER_LIBS, set by run.sh) for what ffmpeg
# opens from the driver.
for prog in ffmpeg ffprobe; do
  cat >"$stage/bin/$prog" <<WRAP
#!/bin/sh
here=\$(dirname "\$(readlink -f "\$0")")/..
exec "\$here/lib/ld-linux-x86-64.so.2" --argv0 $prog --library-path "\$here/lib\${STICKERD_DRIVER_LIBS:+:\$STICKERD_DRIVER_LIBS}" "\$here/libexec/$prog" "\$@"
WRAP
  chmod +x "$stage/bin/$prog"
done

CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "$stage/bin/gpubench" ./cmd/gpubench
"$stage/bin/ffmpeg" -hide_banner -version | head -1 >"$stage/VERSION"
git rev-parse HEAD >>"$stage/VERSION"

tar -C "$stage" -cf - . | gzip -9 >"$root/bundle.tar.gz.tmp"
mv "$root/bundle.tar.gz.tmp" "$root/bundle.tar.gz"
size=$(stat -c %s "$root/bundle.tar.gz")
echo "bundle: .device/bundle.tar.gz, $((size / 1024 / 1024)) MiB ($size bytes), $(ls "$stage/lib" | wc -l) libraries, unpacked $(du -sh "$stage" | cut -f1)"
if [ "$size" -gt $((64 << 20)) ]; then
  echo "bundle: over the 64 MiB the device tool carries" >&2
  exit 1
fi
