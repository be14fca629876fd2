#!/usr/bin/env bash
# Builds the ffmpeg and ffprobe that travel to the GPU machine: Debian
# 12's own ffmpeg 5.1 source (the version the engine is written against),
# configured with the CUDA pieces the GPU chain needs (NVDEC, NVENC through
# the ffnvcodec headers; scale_cuda, overlay_cuda and hwupload_cuda
# compiled to PTX by clang) and only the codecs, formats and filters the
# engine and gpubench use. Debian's packaged ffmpeg would do the same
# work, but it loads 213 shared libraries (236 MB, 84 MB even as
# zstd -19 --long) and the machine takes 64 MiB; this build needs a dozen.
#
# Usage: scripts/device/build-ffmpeg.sh   (as root, or with the packages
# below installed). Output: .device/ffmpeg/bin/{ffmpeg,ffprobe}; the
# source and objects stay in .device/src (both folders are ignored).
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/../.."
root=$PWD/.device
src=$root/src
prefix=$root/ffmpeg
version=5.1.9 # Debian 12's; the engine's goldens are 5.1's
mkdir -p "$src"

pkgs=(clang nasm pkg-config libx264-dev libvpx-dev libwebp-dev libopus-dev libfreetype-dev zlib1g-dev libffmpeg-nvenc-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "build-ffmpeg: run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

# The source, by apt's ordinary client, with a deb-src list of our own so
# the machine's apt configuration is left alone.
if [ ! -d "$src/ffmpeg-$version" ]; then
  apt=$root/apt
  mkdir -p "$apt/lists/partial"
  printf 'deb-src http://deb.debian.org/debian bookworm main\ndeb-src http://deb.debian.org/debian-security bookworm-security main\n' >"$apt/src.list"
  opts=(-o Dir::Etc::SourceList="$apt/src.list" -o Dir::Etc::SourceParts=/dev/null -o Dir::State::Lists="$apt/lists")
  apt-get "${opts[@]}" update
  (cd "$src" && apt-get "${opts[@]}" source --download-only "ffmpeg=$version-0+deb12u1")
  tar -C "$src" -xf "$src/ffmpeg_$version.orig.tar.xz"
fi

cd "$src/ffmpeg-$version"
list() { local IFS=,; echo "$*"; }
decoders=(h264 hevc vp8 vp9 av1 mpeg4 mjpeg png apng gif webp rawvideo aac aac_latm mp3float mp3 opus vorbis flac ac3 eac3 alac
  pcm_s16le pcm_s16be pcm_s24le pcm_f32le)
encoders=(libx264 h264_nvenc libvpx_vp9 libwebp_anim libwebp gif png apng aac libopus pcm_s16le rawvideo wrapped_avframe)
hwaccels=(h264_nvdec hevc_nvdec vp8_nvdec vp9_nvdec av1_nvdec mpeg4_nvdec)
demuxers=(mov matroska mpegts gif apng image2 image2pipe image_png_pipe image_jpeg_pipe image_webp_pipe image_gif_pipe concat rawvideo
  wav mp3 aac h264 hevc ogg flac)
muxers=(mp4 mov ipod webm matroska gif webp apng mpegts null rawvideo image2 segment h264 wav)
parsers=(h264 hevc vp8 vp9 av1 aac aac_latm mpegaudio opus vorbis flac png gif mjpeg webp ac3 mpeg4video)
filters=(aformat aresample anull null format scale overlay rotate colorchannelmixer sendcmd asendcmd setpts asetpts loop aloop trim
  atrim fps split asplit palettegen paletteuse pad setsar setdar drawtext hwupload hwdownload hwupload_cuda scale_cuda overlay_cuda
  transpose hflip vflip testsrc2 testsrc color sine anullsrc nullsrc concat select aselect showinfo volumedetect silencedetect
  copy acopy crop drawbox volume amix psnr ssim)

if [ ! -f ffbuild/config.mak ] || [ "$(cat .stickerd-config 2>/dev/null)" != "$(sha256sum "$self" | cut -c1-16)" ]; then
  ./configure --prefix="$prefix" --disable-debug --disable-doc --disable-ffplay --disable-shared --enable-static \
    --enable-gpl --enable-version3 --enable-pthreads \
    --disable-xlib --disable-libxcb --disable-sdl2 --disable-alsa --disable-sndio --disable-vaapi --disable-vdpau \
    --disable-libdrm --disable-iconv --disable-lzma --disable-bzlib --disable-vulkan --disable-opencl \
    --disable-everything \
    --enable-libx264 --enable-libvpx --enable-libwebp --enable-libopus --enable-libfreetype --enable-zlib \
    --enable-ffnvcodec --enable-nvdec --enable-nvenc --enable-cuda-llvm \
    --enable-decoder="$(list "${decoders[@]}")" --enable-encoder="$(list "${encoders[@]}")" \
    --enable-hwaccel="$(list "${hwaccels[@]}")" \
    --enable-demuxer="$(list "${demuxers[@]}")" --enable-muxer="$(list "${muxers[@]}")" \
    --enable-parser="$(list "${parsers[@]}")" --enable-bsfs --enable-protocol=file,pipe \
    --enable-indev=lavfi --enable-filter="$(list "${filters[@]}")"
  sha256sum "$self" | cut -c1-16 >.stickerd-config
fi
make -j"$(nproc)"
make install
# Read whole before grep -q, which would end the pipe early (pipefail).
filters=$("$prefix/bin/ffmpeg" -hide_banner -filters)
for f in scale_cuda overlay_cuda hwupload hwdownload; do
  grep -qw "$f" <<<"$filters" || { echo "build-ffmpeg: $f missing from the build" >&2; exit 1; }
done
grep -qx cuda <<<"$("$prefix/bin/ffmpeg" -hide_banner -hwaccels)" || { echo "build-ffmpeg: no cuda hwaccel" >&2; exit 1; }
echo "build-ffmpeg: $prefix/bin/ffmpeg ($("$prefix/bin/ffmpeg" -hide_banner -version | head -1))"
