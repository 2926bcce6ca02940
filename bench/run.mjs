#!/usr/bin/env node
// npm run bench: octet vs onnxruntime-node on the real models, fp32 and octet's int8, with the measurement of
// `octet bench` (src/bench, built to dist/bench.js): one process, runs interleaved run by run so machine noise
// hits both alike; medians and p90 after warm-up at batch 1 and 8, throughput, session creation, and each
// runtime's peak RSS measured alone in a child process. Needs `npm run build` and scripts/fetch-test-material.sh.
// Usage: node bench/run.mjs [--runs N] [--warmup N] [--threads N] [--batch 1,8] [--json] [model ...]
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { benchmark } from '../dist/bench.js';
import { quantize, serializeModel } from '../dist/index.js';

const { values, positionals } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '3' },
    threads: { type: 'string', default: '1' },
    batch: { type: 'string', default: '1,8' },
    json: { type: 'boolean' },
  },
  allowPositionals: true,
});
const runs = Number(values.runs);
const warmup = Number(values.warmup);
const threads = Number(values.threads);
const batches = values.batch.split(',').map(Number);
const models = join(import.meta.dirname, '..', 'test', '.fixtures', 'models');
const images = join(import.meta.dirname, '..', 'test', '.fixtures', 'images');

// Each model's input at its real size, batch 1 (random values: speed does not depend on pixel values).
const CASES = {
  blazeface_front: { 'input:0': [1, 128, 128, 3] },
  ppocr_cls: { x: [1, 3, 48, 192] },
  ppocr_rec: { x: [1, 3, 48, 320] },
  ppocr_det: { x: [1, 3, 640, 640] },
};

/** The model quantized by octet (static QDQ, per-channel, calibrated on the fixture photos), as a file. */
async function int8File(file, spec, dir) {
  const [name, dims] = Object.entries(spec)[0];
  const nhwc = dims[3] === 3;
  const [h, w] = nhwc ? [dims[1], dims[2]] : [dims[2], dims[3]];
  const { model } = await quantize(file, {
    calibration: images,
    image: { width: w, height: h, layout: nhwc ? 'nhwc' : 'nchw', mean: 0.5, std: 0.5 },
    inputShapes: { [name]: dims },
    progress: false,
  });
  const out = join(dir, `${name.replace(/\W/g, '_')}.int8.onnx`);
  writeFileSync(out, serializeModel(model));
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'octet-bench-run-'));
const results = [];
try {
  for (const name of positionals.length ? positionals : Object.keys(CASES)) {
    const file = join(models, `${name}.onnx`);
    if (!existsSync(file)) throw new Error(`${file} is missing: run scripts/fetch-test-material.sh`);
    if (!CASES[name]) throw new Error(`no input sizes for '${name}': known models are ${Object.keys(CASES).join(', ')}`);
    const inputs = Object.entries(CASES[name]).map(([input, shape]) => ({ name: input, shape }));
    for (const precision of ['fp32', 'int8']) {
      const path = precision === 'fp32' ? file : await int8File(file, CASES[name], mkdtempSync(join(dir, `${name}-`)));
      const report = await benchmark(path, { threads, runs, warmup, batches, peer: 'onnxruntime', inputs });
      results.push({ model: name, precision, report });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

if (values.json) {
  console.log(JSON.stringify({ arch: process.arch, threads, runs, warmup, batches, results }, null, 2));
} else {
  const f = (x) => (x >= 100 ? x.toFixed(1) : x.toFixed(2));
  const peerVersion = results[0]?.report.peer?.version ?? '';
  console.log(`octet vs onnxruntime-node ${peerVersion}, ${threads} thread(s), ${runs} interleaved runs after ${warmup} warm-up, ms`);
  console.log('model             prec   batch  octet med/p90     ort med/p90       octet/ort  vs ort fp32  octet/s   ort/s');
  for (const r of results) {
    for (const b of r.report.batches) {
      if (b.skipped) {
        console.log(`${r.model.padEnd(17)} ${r.precision.padEnd(6)} ${String(b.batch).padStart(5)}  skipped: ${b.skipped}`);
        continue;
      }
      const fp32 = results.find((x) => x.model === r.model && x.precision === 'fp32').report.batches.find((x) => x.batch === b.batch);
      const vsFp32 = fp32?.onnxruntime ? `${(fp32.onnxruntime.medianMs / b.octet.medianMs).toFixed(2)}x` : '-';
      console.log(
        `${r.model.padEnd(17)} ${r.precision.padEnd(6)} ${String(b.batch).padStart(5)}  ${f(b.octet.medianMs).padStart(7)}/${f(b.octet.p90Ms).padEnd(8)} ${f(b.onnxruntime.medianMs).padStart(7)}/${f(b.onnxruntime.p90Ms).padEnd(8)} ${b.speedup.median.toFixed(2).padStart(6)}x   ${vsFp32.padStart(9)}  ${b.octet.throughput.toFixed(0).padStart(6)}  ${b.onnxruntime.throughput.toFixed(0).padStart(6)}`,
      );
    }
  }
  console.log('');
  console.log('model             prec   create ms octet/ort   peak RSS MiB octet/ort (above baseline)');
  for (const r of results) {
    const s = r.report.session;
    const m = r.report.memory ?? {};
    const rss = (x) => (x === undefined ? '-' : typeof x === 'string' ? 'n/a' : `${x.peakRssMiB.toFixed(0)} (${(x.peakRssMiB - x.baselineRssMiB).toFixed(0)})`);
    console.log(`${r.model.padEnd(17)} ${r.precision.padEnd(6)} ${`${f(s.octet.createMs)}/${f(s.onnxruntime.createMs)}`.padEnd(20)} ${rss(m.octet)} / ${rss(m.onnxruntime)}`);
  }
}
