#!/usr/bin/env bash
# `npm run prebuilds`: prebuilt binaries for linux-x64 and linux-arm64 (N-API 8) with prebuildify, each in
# prebuilds/linux-<arch>/ with the vendor shared libraries it loads. The arm64 one is cross-compiled against
# Debian's arm64 packages. Usage: scripts/prebuild.sh [x64] [arm64]   (default: both; host arch last)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

need=(patchelf)
arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(arm64 x64)
for a in "${arches[@]}"; do [ "$a" = arm64 ] && need+=(g++-aarch64-linux-gnu binutils-aarch64-linux-gnu); done
missing=()
for p in "${need[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  as_root=(); [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    { "${as_root[@]}" apt-get update -qq && "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
fi

stage="$root/.cache/prebuild-stage"
mkdir -p "$stage"
cp package.json "$stage/"
for arch in "${arches[@]}"; do
  rm -rf "prebuilds/linux-$arch"
  strip_bin=strip
  [ "$arch" = arm64 ] && strip_bin=aarch64-linux-gnu-strip
  npx prebuildify --napi --strip --strip-bin "$strip_bin" --arch "$arch" --platform linux \
    --cwd "$stage" --out "$root" --node-gyp "$root/scripts/prebuildify-cmake.sh"
  echo "prebuilds/linux-$arch: $(du -sh "prebuilds/linux-$arch" | cut -f1)"
  ls -la "prebuilds/linux-$arch"
done
