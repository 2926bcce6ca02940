
/**
 * Compares onnxruntime's quantizer with octet's on the real models, for docs/quantization-results.md.
 * Developer tool, run by scripts/ort-reference.sh through vite-node (needs the models onnxruntime's quantizer
 * made in the chroot; the committed ones are checked by test/e2e/ort-quantized.test.ts).
 *
 *   evaluate.ts ORT_DIR [MODEL ...]
 *
 * ORT_DIR holds <model>.minmax.onnx, <model>.entropy.onnx (8-bit weights), <model>.minmax.rr.onnx (7-bit) and
 * <model>.dynamic.onnx files. For each vision model and each held-out photo (page, motorcycle) it prints the SQNR
 * (dB) of every output against fp32 of: octet's MinMax and Entropy quantization and onnxruntime's, all executed
 * by octet's runtime (exact int8 arithmetic, so the quantizers are compared, not the runtimes); onnxruntime-node
 * executing onnxruntime's 8-bit file (what a user of onnxruntime gets on this CPU); and how far octet's and
 * onnxruntime-node's executions of the 7-bit file are apart. Dynamic models: SQNR on page.png (rec) and the
 * VAD's frame decisions over the fixture WAVs (Silero).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { InferenceSession, Tensor } from '../../src/index.js';
import { serializeModel } from '../../src/onnx/io.js';
import type { CalibrationSample } from '../../src/quantize/executor.js';
import { disagreement, sqnr } from '../../src/quantize/metrics.js';
import { quantize } from '../../src/quantize/quantize.js';
import { ort } from '../../test/unit/onnx/helpers/ort.js';
import { compareVads, MODELS_DIR, photoSample, type VadStep } from '../../test/unit/quantize-graph/helpers/real-data.js';

const CALIBRATION = ['astronaut.png', 'chelsea.png', 'coffee.png'];
const EVALUATION = ['page.png', 'motorcycle_left.png'];
const [ortDir, ...only] = process.argv.slice(2);
if (!ortDir) {
  process.stderr.write('usage: evaluate.ts ORT_DIR [MODEL ...]\n');
  process.exit(2);
}
const wanted = (m: string): boolean => only.length === 0 || only.includes(m);
type Outputs = Record<string, Float32Array>;
/** The feeds only name the inputs a model has (a model with `sr` frozen has no `sr`). */
const typeOf = (t: CalibrationSample[string]): 'int64' | 'float32' => (t.data instanceof BigInt64Array ? 'int64' : 'float32');

async function runOctet(model: string | Uint8Array, sample: CalibrationSample): Promise<{ out: Outputs; kernels: string[] }> {
  const session = await InferenceSession.create(model);
  try {
    const feeds: Record<string, Tensor> = {};
    for (const k of session.inputNames) feeds[k] = new Tensor(typeOf(sample[k]), sample[k].data as Float32Array, [...sample[k].dims]);
    const res = await session.run(feeds);
    const out: Outputs = {};
    for (const k of session.outputNames) out[k] = res[k].data as Float32Array;
    return { out, kernels: session.implementations() };
  } finally {
    await session.release();
  }
}

async function runOrt(model: string | Uint8Array, sample: CalibrationSample): Promise<Outputs> {
  const session = await (typeof model === 'string' ? ort.InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 3 }) : ort.InferenceSession.create(model, { intraOpNumThreads: 1, logSeverityLevel: 3 }));
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const k of session.inputNames) feeds[k] = new ort.Tensor(typeOf(sample[k]), sample[k].data as Float32Array, [...sample[k].dims]);
    const res = await session.run(feeds);
    const out: Outputs = {};
    for (const k of session.outputNames) out[k] = res[k].data as Float32Array;
    return out;
  } finally {
    await session.release();
  }
}


const f = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '∞');

for (const model of ['ppocr_cls', 'blazeface_front', 'ppocr_det']) {
  if (!wanted(model) || !existsSync(join(ortDir, `${model}.minmax.onnx`))) continue;
  const original = join(MODELS_DIR, `${model}.onnx`);
  const calibration = CALIBRATION.map((p) => photoSample(model, p));
  const ours: Record<string, Uint8Array> = {};
  for (const method of ['minmax', 'entropy'] as const) ours[method] = serializeModel((await quantize(original, { calibration, method, progress: false })).model);
  const theirs = (v: string): string | undefined => (existsSync(join(ortDir, `${model}.${v}.onnx`)) ? join(ortDir, `${model}.${v}.onnx`) : undefined);
  console.log(`\n${model}: octet minmax | octet entropy | onnxruntime minmax | onnxruntime entropy (all on octet's runtime) | onnxruntime minmax on onnxruntime-node | 7-bit file: octet vs onnxruntime-node apart`);
  for (const photo of EVALUATION) {
    const s = photoSample(model, photo);
    const ref = (await runOctet(original, s)).out;
    const cols: Record<string, Outputs | undefined> = {
      om: (await runOctet(ours.minmax, s)).out,
      oe: (await runOctet(ours.entropy, s)).out,
      tm: theirs('minmax') ? (await runOctet(theirs('minmax')!, s)).out : undefined,
      te: theirs('entropy') ? (await runOctet(theirs('entropy')!, s)).out : undefined,
      tmOrt: theirs('minmax') ? await runOrt(theirs('minmax')!, s) : undefined,
    };
    const rr = theirs('minmax.rr');
    const rrOctet = rr && (await runOctet(rr, s));
    const rrOrt = rr && (await runOrt(rr, s));
    for (const o of Object.keys(ref)) {
      const db = (c: Outputs | undefined): string => (c ? f(sqnr(ref[o], c[o])) : '—');
      const agree = rrOctet && rrOrt ? f(disagreement(ref[o], rrOctet.out[o], rrOrt[o])) : '—';
      console.log(`| ${model} | ${o} | ${photo} | ${db(cols.om)} | ${db(cols.oe)} | ${db(cols.tm)} | ${db(cols.te)} | ${db(cols.tmOrt)} | ${agree} |`);
    }
    if (rrOctet && photo === EVALUATION[0]) console.log(`  int8 kernels of the 7-bit file in octet: ${[...new Set(rrOctet.kernels.filter((k) => /qc8|qs8|qu8|int8|brg/.test(k)))].join(', ')}`);
  }
}

if (wanted('ppocr_rec') && existsSync(join(ortDir, 'ppocr_rec.dynamic.onnx'))) {
  const original = join(MODELS_DIR, 'ppocr_rec.onnx');
  const ours = serializeModel((await quantize(original, { dynamic: true, progress: false })).model);
  for (const photo of EVALUATION) {
    const s = photoSample('ppocr_rec', photo);
    const ref = (await runOctet(original, s)).out;
    const a = (await runOctet(ours, s)).out;
    const b = (await runOctet(join(ortDir, 'ppocr_rec.dynamic.onnx'), s)).out;
    const c = await runOrt(join(ortDir, 'ppocr_rec.dynamic.onnx'), s);
    for (const o of Object.keys(ref)) console.log(`| ppocr_rec dynamic | ${o} | ${photo} | octet ${f(sqnr(ref[o], a[o]))} | onnxruntime's file on octet ${f(sqnr(ref[o], b[o]))} | on onnxruntime-node ${f(sqnr(ref[o], c[o]))} |`);
  }
}

if (wanted('silero_vad_op18_ifless') && existsSync(join(ortDir, 'silero_vad_op18_ifless.dynamic.onnx'))) {
  const original = join(MODELS_DIR, 'silero_vad_op18_ifless.onnx');
  const ours = serializeModel((await quantize(original, { dynamic: true, freezeInputs: { sr: 16000 } })).model);
  const theirs = join(ortDir, 'silero_vad_op18_ifless.dynamic.onnx');
  const runs: [string, (m: string | Uint8Array, s: CalibrationSample) => Promise<Outputs>, string | Uint8Array][] = [
    ['octet dynamic on octet', async (m, s) => (await runOctet(m, s)).out, ours],
    ["onnxruntime's dynamic on octet", async (m, s) => (await runOctet(m, s)).out, theirs],
    ["onnxruntime's dynamic on onnxruntime-node", runOrt, theirs],
  ];
  for (const [label, run, file] of runs) {
    const asStep = (m: string | Uint8Array, r: (m: string | Uint8Array, s: CalibrationSample) => Promise<Outputs>): VadStep => async (sample) => {
      const o = await r(m, sample);
      return { output: o.output, stateN: o.stateN };
    };
    const { agree, total, worstState: worst } = await compareVads(asStep(original, async (m, s) => (await runOctet(m, s)).out), asStep(file, run));
    console.log(`| silero_vad_op18_ifless | ${label} | ${agree}/${total} decisions agree with fp32 | worst state SQNR ${f(worst)} |`);
  }
}
