#!/usr/bin/env bash
# Installs the Debian packages octet builds against and tests with. Idempotent: does nothing when all are
# present. Run as root (or with sudo available). Debian bookworm (12) or newer.
set -euo pipefail

packages=(
  build-essential cmake           # cmake-js drives CMake and g++
  libxnnpack-dev libcpuinfo-dev libpthreadpool-dev  # XNNPACK int8/f32 kernels (all platforms)
  clang-format                    # npm run lint
  libonnx-testdata                # ONNX backend test suite (node cases) for the conformance tests
  chromium                        # headless browser: the HTML report's rendering test (test/unit/analysis)
)
case "$(uname -m)" in
  x86_64 | amd64) packages+=(libdnnl-dev) ;;  # oneDNN: the x86 int8 server backend (VNNI/AMX)
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} Debian packages present"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root (need: ${missing[*]})" >&2; exit 1; }
  as_root=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
