#!/usr/bin/env node
// npm run bench: octet vs onnxruntime-node on the real models and the torchvision / Transformer reference models,
// fp32 and int8 (octet's quantization; onnxruntime's too where its file exists), at 1 thread and all cores, with
// the measurement of `octet bench` (src/bench, built to dist/bench.js): one process, runs interleaved run by run
// so machine noise hits both alike; medians and p90 after warm-up at batch 1 and 8, throughput, session creation,
// and each runtime's peak RSS measured alone in a child process. Needs `npm run build` and
// scripts/fetch-test-material.sh; the reference models need scripts/ort-reference.sh --bench-models (skipped
// when absent). --reduce-range adds octet's int8 quantization with 7-bit weights (row int8-7bit: on x86 without VNNI
// its layers run on oneDNN); --a16w8 adds it with 16-bit activations (row a16w8: fp32 kernels with 16-bit
// rounding between layers); --skip-memory leaves out the peak-RSS children.
// Usage: node bench/run.mjs [--runs N] [--warmup N] [--threads 1,all] [--batch 1,8] [--json] [--reduce-range]
// [--a16w8] [--skip-memory] [model ...]
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { benchmark } from '../dist/bench.js';
import { quantize, serializeModel } from '../dist/index.js';

const cores = availableParallelism();
const { values, positionals } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string', default: cores > 1 ? `1,${cores}` : '1' },
    batch: { type: 'string', default: '1,8' },
    json: { type: 'boolean' },
    'reduce-range': { type: 'boolean' },
    a16w8: { type: 'boolean' },
    'skip-memory': { type: 'boolean' },
  },
  allowPositionals: true,
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const threadCounts = values.threads.split(',').map((t) => (t === 'all' ? cores : Number(t)));
const batches = values.batch.split(',').map(Number);
const models = join(import.meta.dirname, '..', 'test', '.fixtures', 'models');
const reference = join(import.meta.dirname, '..', 'test', '.fixtures', 'reference');
const images = join(import.meta.dirname, '..', 'test', '.fixtures', 'images');

// Each model's input at its real size, batch 1 (random values: speed does not depend on pixel values).
// Fixture models (scripts/fetch-test-material.sh): fp32 and octet's int8 made here from the fixture photos.
// Reference models (scripts/ort-reference.sh --bench-models, not in git): fp32, octet's int8 file and
// onnxruntime's int8 file, both made by that script; the Transformer also as octet's dynamic quantization, made
// here. A reference model whose files are absent is skipped with a line saying so.
const CASES = {
  blazeface_front: { dir: models, input: { 'input:0': [1, 128, 128, 3] } },
  ppocr_cls: { dir: models, input: { x: [1, 3, 48, 192] } },
  ppocr_rec: { dir: models, input: { x: [1, 3, 48, 320] } },
  ppocr_det: { dir: models, input: { x: [1, 3, 640, 640] } },
  resnet18: { dir: reference, input: { input: [1, 3, 224, 224] }, files: true },
  resnet50: { dir: reference, input: { input: [1, 3, 224, 224] }, files: true },
  mobilenet_v2: { dir: reference, input: { input: [1, 3, 224, 224] }, files: true },
  mobilenet_v3_large: { dir: reference, input: { input: [1, 3, 224, 224] }, files: true },
  transformer_encoder_op14: { dir: reference, input: { input: [1, 128, 256] }, files: true, dynamic: true },
};

/** The model quantized by octet (static QDQ, per-channel, calibrated on the fixture photos), as a file. */
async function int8File(file, spec, dir, extra = {}) {
  const [name, dims] = Object.entries(spec)[0];
  const nhwc = dims[3] === 3;
  const [h, w] = nhwc ? [dims[1], dims[2]] : [dims[2], dims[3]];
  const { model } = await quantize(file, {
    calibration: images,
    image: { width: w, height: h, layout: nhwc ? 'nhwc' : 'nchw', mean: 0.5, std: 0.5 },
    inputShapes: { [name]: dims },
    progress: false,
    ...extra,
  });
  const out = join(dir, `${name.replace(/\W/g, '_')}${extra.reduceRange ? '.7bit' : ''}${extra.activationType ? `.${extra.activationType}` : ''}.int8.onnx`);
  writeFileSync(out, serializeModel(model));
  return out;
}

/** octet's dynamic quantization (int8 weights, activations quantized per run) of a MatMul model, as a file. */
async function dynamicFile(file, dir) {
  const { model } = await quantize(file, { dynamic: true, progress: false });
  const out = join(dir, 'dynamic.int8.onnx');
  writeFileSync(out, serializeModel(model));
  return out;
}

/** [precision label, file] pairs of one model; precision 'fp32' first (the other rows are compared with it). */
async function variants(name, spec, dir) {
  const fp32 = join(spec.dir, `${name}.onnx`);
  if (!spec.files) {
    if (!existsSync(fp32)) throw new Error(`${fp32} is missing: run scripts/fetch-test-material.sh`);
    return [['fp32', fp32], ['int8', await int8File(fp32, spec.input, mkdtempSync(join(dir, `${name}-`)))]];
  }
  const files = [['fp32', fp32], ['int8', join(spec.dir, `${name}.octet.int8.onnx`)], ['ort-int8', join(spec.dir, `${name}.ort.int8.onnx`)]];
  const missing = files.filter(([, f]) => !existsSync(f)).map(([, f]) => f);
  if (missing.length > 0) return { skipped: `missing ${missing.join(', ')} (made by scripts/ort-reference.sh --bench-models)` };
  if (spec.dynamic) files.splice(2, 0, ['int8-dyn', await dynamicFile(fp32, mkdtempSync(join(dir, `${name}-`)))]);
  return files;
}

/**
 * With --reduce-range: the model quantized by octet with 7-bit weights, as a row after the int8 one; with --a16w8:
 * with 16-bit activations, after those.
 */
async function withExtraRows(list, name, spec, dir) {
  if (!Array.isArray(list)) return list;
  const extra = [];
  if (values['reduce-range']) extra.push(['int8-7bit', await int8File(list[0][1], spec.input, mkdtempSync(join(dir, `${name}-rr-`)), { reduceRange: true })]);
  if (values.a16w8) extra.push(['a16w8', await int8File(list[0][1], spec.input, mkdtempSync(join(dir, `${name}-a16-`)), { activationType: 'uint16' })]);
  const at = list.findIndex(([p]) => p === 'int8') + 1;
  return [...list.slice(0, at), ...extra, ...list.slice(at)];
}

const dir = mkdtempSync(join(tmpdir(), 'octet-bench-run-'));
const results = [];
const skipped = [];
try {
  for (const name of positionals.length ? positionals : Object.keys(CASES)) {
    const spec = CASES[name];
    if (!spec) throw new Error(`no input sizes for '${name}': known models are ${Object.keys(CASES).join(', ')}`);
    const list = await withExtraRows(await variants(name, spec, dir), name, spec, dir);
    if (!Array.isArray(list)) {
      skipped.push({ model: name, reason: list.skipped });
      console.error(`skipped ${name}: ${list.skipped}`);
      continue;
    }
    const inputs = Object.entries(spec.input).map(([input, shape]) => ({ name: input, shape }));
    for (const threads of threadCounts) {
      for (const [precision, path] of list) {
        const report = await benchmark(path, { threads, runs, warmup, batches, peer: 'onnxruntime', inputs, progress: false, ...(values['skip-memory'] ? { memory: false } : {}) });
        results.push({ model: name, precision, threads, report });
      }
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (values.json) {
  console.log(JSON.stringify({ arch: process.arch, threads: threadCounts, runs, warmup, batches, results, skipped }, null, 2));
} else {
  const f = (x) => (x >= 100 ? x.toFixed(1) : x.toFixed(2));
  const peerVersion = results[0]?.report.peer?.version ?? '';
  console.log(`octet vs onnxruntime-node ${peerVersion}, threads ${threadCounts.join(', ')}, ${runs} interleaved runs after ${warmup} warm-up, ms`);
  console.log('model                    prec     thr batch  octet med/p90     ort med/p90       octet/ort  vs ort fp32  octet/s   ort/s');
  for (const r of results) {
    for (const b of r.report.batches) {
      if (b.skipped) {
        console.log(`${r.model.padEnd(24)} ${r.precision.padEnd(8)} ${String(r.threads).padStart(3)} ${String(b.batch).padStart(5)}  skipped: ${b.skipped}`);
        continue;
      }
      const fp32 = results.find((x) => x.model === r.model && x.threads === r.threads && x.precision === 'fp32').report.batches.find((x) => x.batch === b.batch);
      const vsFp32 = fp32?.onnxruntime ? `${(fp32.onnxruntime.medianMs / b.octet.medianMs).toFixed(2)}x` : '-';
      console.log(
        `${r.model.padEnd(24)} ${r.precision.padEnd(8)} ${String(r.threads).padStart(3)} ${String(b.batch).padStart(5)}  ${f(b.octet.medianMs).padStart(7)}/${f(b.octet.p90Ms).padEnd(8)} ${f(b.onnxruntime.medianMs).padStart(7)}/${f(b.onnxruntime.p90Ms).padEnd(8)} ${b.speedup.median.toFixed(2).padStart(6)}x   ${vsFp32.padStart(9)}  ${b.octet.throughput.toFixed(0).padStart(6)}  ${b.onnxruntime.throughput.toFixed(0).padStart(6)}`,
      );
    }
  }
  console.log('');
  console.log('model                    prec     thr create ms octet/ort   peak RSS MiB octet/ort (above baseline)');
  for (const r of results) {
    const s = r.report.session;
    const m = r.report.memory ?? {};
    const rss = (x) => (x === undefined ? '-' : typeof x === 'string' ? 'n/a' : `${x.peakRssMiB.toFixed(0)} (${(x.peakRssMiB - x.baselineRssMiB).toFixed(0)})`);
    console.log(`${r.model.padEnd(24)} ${r.precision.padEnd(8)} ${String(r.threads).padStart(3)} ${`${f(s.octet.createMs)}/${f(s.onnxruntime.createMs)}`.padEnd(20)} ${rss(m.octet)} / ${rss(m.onnxruntime)}`);
  }
  for (const s of skipped) console.log(`${s.model}: skipped, ${s.reason}`);
}
