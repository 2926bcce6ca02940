#!/usr/bin/env bash
# prebuildify has no cmake-js mode: it runs this script as its `--node-gyp` with node-gyp's arguments
# (`rebuild --target=V --devdir=D --arch=A --release`) in its working directory, a staging folder (so the
# development build in build/ is left alone). We build with cmake-js for that arch into <staging>/build and put
# the vendor shared libraries beside the .node in <staging>/build/Release (RUNPATH $ORIGIN on all of them),
# from where prebuildify copies them into prebuilds/linux-<arch>/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
arch="$(node -p process.arch)"
for a in "$@"; do
  case "$a" in --arch=*) arch="${a#--arch=}" ;; esac
done

out="$PWD/build"
cd "$root"
rm -rf "$out"
cmake_args=()
case "$arch" in
  x64)
    libdir=/usr/lib/x86_64-linux-gnu
    libs=(libXNNPACK.so.0 libcpuinfo.so.0 libpthreadpool.so.0 libdnnl.so.2 libgomp.so.1 libOpenCL.so.1)
    ;;
  arm64)
    export OCTET_ARM64_SYSROOT="${OCTET_ARM64_SYSROOT:-$(bash scripts/sysroot-arm64.sh | tail -n 1)}"
    libdir="$OCTET_ARM64_SYSROOT/usr/lib/aarch64-linux-gnu"
    libs=(libXNNPACK.so.0 libcpuinfo.so.0 libpthreadpool.so.0)
    cmake_args=(--CDCMAKE_TOOLCHAIN_FILE="$root/scripts/toolchain-aarch64.cmake" --CDOCTET_WITH_ONEDNN=OFF)
    ;;
  *) echo "prebuildify-cmake: unsupported arch $arch" >&2; exit 1 ;;
esac

npx cmake-js compile --directory "$root" --out "$out" --arch "$arch" "${cmake_args[@]}"
for lib in "${libs[@]}"; do
  cp -L "$libdir/$lib" "$out/Release/$lib"
  chmod 644 "$out/Release/$lib"
  patchelf --set-rpath '$ORIGIN' "$out/Release/$lib"
done
