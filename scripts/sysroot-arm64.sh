#!/usr/bin/env bash
# Builds a linux-arm64 sysroot with Debian's arm64 vendor libraries (headers + shared objects) for
# cross-compiling the addon: `apt-get download` + `dpkg-deb -x`, since XNNPACK's -dev packages are not
# multiarch-co-installable. Idempotent. Prints the sysroot path.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sysroot="${OCTET_ARM64_SYSROOT:-$root/.cache/sysroot-arm64}"
packages=(libxnnpack0 libxnnpack-dev libcpuinfo0 libcpuinfo-dev libpthreadpool0 libpthreadpool-dev)

if [ -f "$sysroot/.complete" ]; then echo "$sysroot"; exit 0; fi
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  "${as_root[@]}" dpkg --add-architecture arm64
  "${as_root[@]}" apt-get update -qq
fi
mkdir -p "$sysroot/.debs"
(
  cd "$sysroot/.debs"
  for p in "${packages[@]}"; do
    ls "${p}"_*_arm64.deb >/dev/null 2>&1 || apt-get download "$p:arm64" >/dev/null 2>&1 ||
      { "${as_root[@]}" apt-get update -qq && apt-get download "$p:arm64" >/dev/null; }
  done
  for deb in ./*_arm64.deb; do dpkg-deb -x "$deb" "$sysroot"; done
)
touch "$sysroot/.complete"
echo "$sysroot"
