#!/bin/bash
# onnxruntime's own Python quantizer as the reference for octet's (docs/ort-reference.md). Developer tool: needs
# root and the Debian trixie chroot of /work/shared/tools/ort-reference (setup.sh builds it), which CI never has;
# CI tests the small models this produces, committed under test/fixtures/ort-quantized/.
#
#   scripts/ort-reference.sh [--models] [--evaluate] [--install-fixtures] [--bench-models] [--calibration-speed]
#                            [--task-metrics] [--cls-heldout] [--a16w8]
#
#   --models             calibration .npy files from the fixture photos (the tests' preprocessing), then
#                        onnxruntime's quantize_static (QDQ, uint8 activations, int8 per-channel weights; MinMax,
#                        Entropy with 2048/128 bins, and a 7-bit-weight MinMax twin) of ppocr_cls, blazeface_front,
#                        ppocr_det, and quantize_dynamic (uint8 weights) of silero_vad_op18_ifless and ppocr_rec,
#                        into $WORK/ort-quantized/ (logs in $WORK/logs/). The default when no step is named.
#   --evaluate           octet's and onnxruntime's quantizations side by side (scripts/ort-reference/evaluate.ts)
#   --install-fixtures   copy the small results (of --models, and of --a16w8 for cls and BlazeFace) to
#                        test/fixtures/ort-quantized/
#   --bench-models       torchvision ResNet-18/50, MobileNetV2/V3-Large and a 4-layer Transformer encoder (random
#                        weights) into test/.fixtures/reference/, with onnxruntime's and octet's int8 QDQ versions,
#                        and a one-shot smoke run of each in octet and onnxruntime-node
#   --task-metrics       onnxruntime's MinMax quantization of rec (two folds of page lines), det and BlazeFace (two
#                        folds) on the calibration splits of test/unit/quantize-graph/task-metrics.test.ts, then the
#                        task figures (OCR text, lines found, face score) of its files on octet's runtime
#   --cls-heldout        ppocr_cls on 106 held-out crops (prepare.py crops): octet's MinMax vs onnxruntime's file
#                        (from --models, else the committed one), scripts/ort-reference/cls-heldout.ts
#   --a16w8              onnxruntime's quantize_static with uint16 activations (scripts/ort-reference/quantize16.py)
#                        of ppocr_cls and blazeface_front (the three photos) and ppocr_det (the task-metrics det
#                        split at 384x192), against octet's A16W8 variants (scripts/ort-reference/a16w8.ts)
#   --calibration-speed  time and peak RSS of entropy and percentile calibration of ppocr_cls on 100 and 1000
#                        augmented photo samples: octet's CLI vs onnxruntime's quantizer (/usr/bin/time -v)
#
# Env: WORK (default /tmp/ortref: it must be under /tmp, the only folder shared with the chroot),
#      CHROOT_RUN (default /work/shared/tools/ort-reference/run-in-chroot.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
WORK="${WORK:-/tmp/ortref}"
CHROOT_RUN="${CHROOT_RUN:-/work/shared/tools/ort-reference/run-in-chroot.sh}"
case "$WORK" in /tmp/*) ;; *) echo "ort-reference: WORK must be under /tmp (shared with the chroot)" >&2; exit 1 ;; esac
[ "$(id -u)" = 0 ] || { echo "ort-reference: run as root (the chroot needs it)" >&2; exit 1; }
[ -x "$CHROOT_RUN" ] || { echo "ort-reference: no $CHROOT_RUN" >&2; exit 1; }
[ -f test/.fixtures/models/ppocr_cls.onnx ] || { echo "ort-reference: run 'bash scripts/fetch-test-material.sh' first" >&2; exit 1; }

steps=()
for a in "$@"; do
  case "$a" in
    --models|--evaluate|--install-fixtures|--bench-models|--calibration-speed|--task-metrics|--cls-heldout|--a16w8) steps+=("${a#--}") ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "ort-reference: unknown option '$a' (see --help)" >&2; exit 1 ;;
  esac
done
[ ${#steps[@]} -gt 0 ] || steps=(models)
has() { [[ " ${steps[*]} " == *" $1 "* ]]; }

OUT="$WORK/ort-quantized"
LOGS="$WORK/logs"
mkdir -p "$WORK/models" "$WORK/calib" "$OUT" "$LOGS"
install -m 0644 scripts/ort-reference/prepare.py "$WORK/prepare.py"
install -m 0644 scripts/ort-reference/quantize16.py "$WORK/quantize16.py"
NODE_TS="$REPO/node_modules/.bin/vite-node"
inchroot() { (cd "$WORK" && "$CHROOT_RUN" "$@") 2> >(grep -v -e '^Schema error' -e '^$' -e 'Removing initializer' >&2); }
quantize_ort() { inchroot python3 /usr/local/bin/ort_quantize.py "$@"; }
# onnxruntime at its best (docs/ort-reference.md): uint8 activations, int8 symmetric per-channel weights, QDQ.
STATIC=(--preprocess --format QDQ --per-channel --activation-type uint8 --weight-type int8)
ENTROPY=(--calibrate entropy --num-bins 2048 --num-quantized-bins 128)
CALIB_PHOTOS=(astronaut.png chelsea.png coffee.png)

versions() {
  inchroot python3 -c 'import onnxruntime, onnx, numpy, torch, torchvision; print(f"onnxruntime {onnxruntime.__version__}, onnx {onnx.__version__}, numpy {numpy.__version__}, torch {torch.__version__}, torchvision {torchvision.__version__}")'
  inchroot dpkg-query -W python3-onnxruntime python3-onnx python3-torch
}

if has models; then
  versions | tee "$LOGS/versions.txt"
  for m in ppocr_cls blazeface_front ppocr_det ppocr_rec silero_vad_op18_ifless; do cp test/.fixtures/models/$m.onnx "$WORK/models/"; done
  for m in ppocr_cls blazeface_front ppocr_det ppocr_rec; do
    "$NODE_TS" scripts/ort-reference/data.ts photos "$WORK/calib/$m" "$m" "${CALIB_PHOTOS[@]}"
  done
  # What happens with the files as they are (opset 9/11/12): recorded, not used.
  for m in ppocr_cls blazeface_front ppocr_det; do
    for pre in "" --preprocess; do
      log="$LOGS/$m.as-is${pre:+.preprocess}.log"
      if quantize_ort "models/$m.onnx" "as-is.onnx" --format QDQ --per-channel --activation-type uint8 --calib-dir "calib/$m" --check $pre >"$log" 2>&1; then
        echo "$m as is${pre:+ with --preprocess}: quantized and loads in onnxruntime"
      else
        echo "$m as is${pre:+ with --preprocess}: $(grep -E 'Error|Exception' "$log" | tail -1 | cut -c1-220)"
      fi
      rm -f "$WORK/as-is.onnx" "$WORK/as-is.onnx.pre.onnx"
    done
  done | tee "$LOGS/as-is.txt"
  # The usable route: onnx.version_converter to opset 13 (per-channel DequantizeLinear needs `axis`), fixed input
  # sizes where onnxruntime's symbolic shape inference gives up (det) or for the dynamic rec, then quant_pre_process.
  inchroot python3 prepare.py upgrade models/ppocr_cls.onnx models/ppocr_cls.op13.onnx
  inchroot python3 prepare.py upgrade models/blazeface_front.onnx models/blazeface_front.op13.onnx
  inchroot python3 prepare.py upgrade models/ppocr_det.onnx models/ppocr_det.op13.onnx x=1x3x320x320
  inchroot python3 prepare.py upgrade models/ppocr_rec.onnx models/ppocr_rec.op13.onnx x=1x3x48x320
  for m in ppocr_cls blazeface_front ppocr_det; do
    quantize_ort "models/$m.op13.onnx" "ort-quantized/$m.minmax.onnx" "${STATIC[@]}" --calibrate minmax --calib-dir "calib/$m" | tee "$LOGS/$m.minmax.log"
    quantize_ort "models/$m.op13.onnx" "ort-quantized/$m.minmax.rr.onnx" "${STATIC[@]}" --calibrate minmax --reduce-range --calib-dir "calib/$m" | tee "$LOGS/$m.minmax.rr.log"
    quantize_ort "models/$m.op13.onnx" "ort-quantized/$m.entropy.onnx" "${STATIC[@]}" "${ENTROPY[@]}" --calib-dir "calib/$m" | tee "$LOGS/$m.entropy.log"
  done
  # Dynamic: uint8 weights (onnxruntime's CPU provider has no ConvInteger for int8 weights).
  quantize_ort models/ppocr_rec.op13.onnx ort-quantized/ppocr_rec.dynamic.onnx --preprocess --dynamic --weight-type uint8 | tee "$LOGS/ppocr_rec.dynamic.log"
  # Silero: as is, quantize_dynamic quantizes nothing (the LSTM weights live outside the If on `sr`); on octet's
  # canonical form with sr frozen to 16000 (the If inlined) it quantizes the Gemms and Convs.
  for pre in "" --preprocess; do
    quantize_ort models/silero_vad_op18_ifless.onnx silero.as-is.onnx $pre --dynamic --weight-type uint8 >"$LOGS/silero_vad_op18_ifless.as-is${pre:+.preprocess}.log" 2>&1 || true
    rm -f "$WORK/silero.as-is.onnx"
  done
  "$NODE_TS" scripts/ort-reference/canonical.ts "$WORK/models/silero_vad_op18_ifless.onnx" "$WORK/models/silero_vad_op18_ifless.16k.onnx" sr=16000
  quantize_ort models/silero_vad_op18_ifless.16k.onnx ort-quantized/silero_vad_op18_ifless.dynamic.onnx --preprocess --dynamic --weight-type uint8 | tee "$LOGS/silero_vad_op18_ifless.dynamic.log"
  inchroot python3 prepare.py ops "$OUT"/*.onnx | tee "$LOGS/ops.txt"
fi

if has evaluate; then
  "$NODE_TS" scripts/ort-reference/evaluate.ts "$OUT" | tee "$LOGS/evaluate.txt"
fi

if has cls-heldout; then
  mkdir -p "$WORK/images"
  cp test/.fixtures/images/{page,motorcycle_left}.png test/.fixtures/images/{china,flower,grace_hopper,rocket}.jpg "$WORK/images/"
  rm -rf "$WORK/heldout"
  inchroot python3 prepare.py crops images heldout
  theirs="$OUT/ppocr_cls.minmax.onnx"
  [ -f "$theirs" ] || theirs=test/fixtures/ort-quantized/ppocr_cls.minmax.onnx
  "$NODE_TS" scripts/ort-reference/cls-heldout.ts "$WORK/heldout" "$theirs" | tee "$LOGS/cls-heldout.txt"
fi

if has task-metrics; then
  tm="$WORK/task-metrics"
  mkdir -p "$tm"
  for m in blazeface_front ppocr_det ppocr_rec; do cp test/.fixtures/models/$m.onnx "$WORK/models/"; done
  "$NODE_TS" scripts/ort-reference/task-metrics.ts data "$tm/calib"
  inchroot python3 prepare.py upgrade models/blazeface_front.onnx models/blazeface_front.op13.onnx
  inchroot python3 prepare.py upgrade models/ppocr_det.onnx models/ppocr_det.tm.op13.onnx x=1x3x192x384
  inchroot python3 prepare.py upgrade models/ppocr_rec.onnx models/ppocr_rec.tm.op13.onnx x=1x3x48x960
  for f in 0 1; do quantize_ort models/ppocr_rec.tm.op13.onnx "task-metrics/ppocr_rec.ort$f.onnx" "${STATIC[@]}" --calibrate minmax --calib-dir "task-metrics/calib/rec$f"; done
  quantize_ort models/ppocr_det.tm.op13.onnx task-metrics/ppocr_det.ort.onnx "${STATIC[@]}" --calibrate minmax --calib-dir task-metrics/calib/det
  for f in A B; do quantize_ort models/blazeface_front.op13.onnx "task-metrics/blazeface_front.ort$f.onnx" "${STATIC[@]}" --calibrate minmax --calib-dir "task-metrics/calib/face$f"; done
  "$NODE_TS" scripts/ort-reference/task-metrics.ts evaluate "$tm" | tee "$LOGS/task-metrics.txt"
fi

if has a16w8; then
  a16="$WORK/a16w8"
  mkdir -p "$a16"
  for m in ppocr_cls blazeface_front ppocr_det; do cp test/.fixtures/models/$m.onnx "$WORK/models/"; done
  for m in ppocr_cls blazeface_front; do
    "$NODE_TS" scripts/ort-reference/data.ts photos "$WORK/calib/$m" "$m" "${CALIB_PHOTOS[@]}"
    inchroot python3 prepare.py upgrade "models/$m.onnx" "models/$m.op13.onnx"
    inchroot python3 quantize16.py "models/$m.op13.onnx" "a16w8/$m.ort16.onnx" "calib/$m"
  done
  "$NODE_TS" scripts/ort-reference/task-metrics.ts data "$a16/calib"
  inchroot python3 prepare.py upgrade models/ppocr_det.onnx models/ppocr_det.tm.op13.onnx x=1x3x192x384
  inchroot python3 quantize16.py models/ppocr_det.tm.op13.onnx a16w8/ppocr_det.ort16.onnx a16w8/calib/det
  "$NODE_TS" scripts/ort-reference/a16w8.ts "$a16" | tee "$LOGS/a16w8.txt"
fi

if has install-fixtures; then
  dest=test/fixtures/ort-quantized
  mkdir -p "$dest"
  for f in ppocr_cls.minmax ppocr_cls.entropy ppocr_cls.minmax.rr blazeface_front.minmax blazeface_front.entropy blazeface_front.minmax.rr silero_vad_op18_ifless.dynamic; do
    [ -f "$OUT/$f.onnx" ] && install -m 0644 "$OUT/$f.onnx" "$dest/$f.onnx"
  done
  # From --a16w8 (this run or an earlier one).
  for m in ppocr_cls blazeface_front; do
    [ -f "$WORK/a16w8/$m.ort16.onnx" ] && install -m 0644 "$WORK/a16w8/$m.ort16.onnx" "$dest/$m.a16w8.onnx"
  done
  ls -l "$dest"
fi

if has bench-models; then
  ref=test/.fixtures/reference
  mkdir -p "$ref" "$WORK/bench"
  [ -f dist/cli.js ] || { echo "ort-reference: build dist/ first (npm run build:ts)" >&2; exit 1; }
  inchroot python3 prepare.py export-bench "$WORK/bench"
  "$NODE_TS" scripts/ort-reference/data.ts image "$WORK/calib/imagenet224" 224x224 0.449 0.226 "${CALIB_PHOTOS[@]}"
  "$NODE_TS" scripts/ort-reference/data.ts tensor "$WORK/calib/transformer" 1x128x256 8
  for m in resnet18 resnet50 mobilenet_v2 mobilenet_v3_large transformer_encoder transformer_encoder_op14; do
    cal="$WORK/calib/imagenet224" opts=("${STATIC[@]}")
    # quant_pre_process's symbolic shape inference fails on the exported attention's Reshape (batch symbolic)
    [[ $m = transformer* ]] && cal="$WORK/calib/transformer" opts=("${STATIC[@]:1}")
    quantize_ort "bench/$m.onnx" "bench/$m.ort.int8.onnx" "${opts[@]}" --calibrate minmax --calib-dir "$cal" | tee "$LOGS/bench.$m.ort.log"
    # octet refuses what its runtime cannot run (LayerNormalization at opset 17): recorded, not fatal
    node dist/cli.js quantize "$WORK/bench/$m.onnx" -o "$WORK/bench/$m.octet.int8.onnx" --calibration "$cal" >"$LOGS/bench.$m.octet.log" 2>&1 \
      || echo "octet quantize $m: $(tail -1 "$LOGS/bench.$m.octet.log")"
    for f in "$m.onnx" "$m.ort.int8.onnx" "$m.octet.int8.onnx"; do [ ! -f "$WORK/bench/$f" ] || install -m 0644 "$WORK/bench/$f" "$ref/"; done
  done
  inchroot python3 prepare.py ops "$WORK/bench"/*.onnx | tee "$LOGS/bench.ops.txt"
  "$NODE_TS" scripts/ort-reference/smoke.ts "$ref" | tee "$LOGS/bench.smoke.txt" || true
  rm -rf "$WORK/bench"
fi

if has calibration-speed; then
  [ -f dist/cli.js ] || { echo "ort-reference: build dist/ first (npm run build:ts)" >&2; exit 1; }
  sp="$WORK/speed"
  rm -rf "$sp"/n*; mkdir -p "$sp/all"
  [ -f "$sp/all/00999.npy" ] || "$NODE_TS" scripts/ort-reference/data.ts augmented "$sp/all" ppocr_cls 1000 1
  [ -f "$WORK/models/ppocr_cls.op13.onnx" ] || { cp test/.fixtures/models/ppocr_cls.onnx "$WORK/models/"; inchroot python3 prepare.py upgrade models/ppocr_cls.onnx models/ppocr_cls.op13.onnx; }
  # Both read the same files; one folder per sample count so neither loads more than it uses.
  for n in 100 300 1000; do
    mkdir -p "$sp/n$n"
    for ((i = 0; i < n; i++)); do f=$(printf %05d.npy $i); ln -s "$sp/all/$f" "$sp/n$n/$f"; done
  done
  # onnxruntime's histogram calibrators keep every sample's activations until the end (~13 MB per ppocr_cls
  # sample): its runs get an address-space limit (ORT_MEM_LIMIT_GB, default 8) so that 1000 samples fail inside
  # it instead of exhausting the machine.
  limit_kb=$(( ${ORT_MEM_LIMIT_GB:-8} * 1024 * 1024 ))
  measure() { # label, command...
    local label="$1"; shift
    local log="$LOGS/speed.$label.log"
    echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >"$log"
    /usr/bin/time -v "$@" >>"$log" 2>&1 || echo "$label: FAILED: $(grep -E 'Error|Killed|bad_alloc' "$log" | tail -1 | cut -c1-160)"
    local wall rss user sys
    wall=$(grep 'Elapsed (wall clock)' "$log" | awk '{print $NF}')
    rss=$(grep 'Maximum resident set size' "$log" | awk '{print $NF}')
    user=$(grep 'User time' "$log" | awk '{print $NF}')
    sys=$(grep 'System time' "$log" | awk '{print $NF}')
    echo "$label: wall $wall, cpu ${user}+${sys} s, peak RSS $((rss / 1024)) MiB, $(head -1 "$log")"
  }
  for method in entropy percentile; do
    for n in 100 1000; do
      measure "octet.$method.$n" node dist/cli.js quantize "$WORK/models/ppocr_cls.onnx" -o "$sp/octet.onnx" --calibration "$sp/n$n" --method $method
    done
    opts=(--calibrate $method --num-bins 2048); [ $method = entropy ] && opts=("${ENTROPY[@]}")
    for n in 100 300 1000; do
      measure "ort.$method.$n" bash -c "ulimit -v $limit_kb; exec \"\$@\"" ort "$CHROOT_RUN" python3 /usr/local/bin/ort_quantize.py \
        "$WORK/models/ppocr_cls.op13.onnx" "$sp/ort.onnx" "${STATIC[@]}" "${opts[@]}" --calib-dir "$sp/n$n" -q
    done
  done | tee "$LOGS/speed.txt"
  rm -rf "$sp"
fi
