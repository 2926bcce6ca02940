#!/usr/bin/env node
// npm run bench: octet vs onnxruntime-node on the same model files in one process, runs interleaved
// (octet, ort, octet, ort, ...) so machine noise hits both alike; medians and p90 after warm-up, and the
// octet/onnxruntime speed ratio. Needs `npm run build` and scripts/fetch-test-material.sh.
// Usage: node bench/run.mjs [--runs N] [--threads N] [--json] [model ...]
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import * as ort from 'onnxruntime-node';

import { InferenceSession, quantize, serializeModel, Tensor } from '../dist/index.js';

const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '30' }, threads: { type: 'string', default: '1' }, json: { type: 'boolean' } },
  allowPositionals: true,
});
const runs = Number(values.runs);
const threads = Number(values.threads);
const models = join(import.meta.dirname, '..', 'test', '.fixtures', 'models');

// Deterministic inputs of each model's real size (speed does not depend on pixel values).
const CASES = {
  blazeface_front: { 'input:0': ['float32', [1, 128, 128, 3]] },
  ppocr_cls: { x: ['float32', [1, 3, 48, 192]] },
  ppocr_rec: { x: ['float32', [1, 3, 48, 320]] },
  ppocr_det: { x: ['float32', [1, 3, 640, 640]] },
};
const images = join(import.meta.dirname, '..', 'test', '.fixtures', 'images');

/** The model quantized by octet (static QDQ, per-channel, calibrated on the fixture photos). */
async function int8Bytes(file, spec) {
  const [name, [, dims]] = Object.entries(spec)[0];
  const nhwc = dims[3] === 3;
  const [h, w] = nhwc ? [dims[1], dims[2]] : [dims[2], dims[3]];
  const { model } = await quantize(file, {
    calibration: images,
    image: { width: w, height: h, layout: nhwc ? 'nhwc' : 'nchw', mean: 0.5, std: 0.5 },
    inputShapes: { [name]: dims },
    progress: false,
  });
  return serializeModel(model);
}

function feedsFor(spec, T) {
  const feeds = {};
  for (const [name, [type, dims]] of Object.entries(spec)) {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = Math.sin(i * 0.37) * 0.8;
    feeds[name] = new T(type, data, dims);
  }
  return feeds;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p90: s[Math.floor(s.length * 0.9)] };
};

const results = [];
const ortOptions = { intraOpNumThreads: threads, interOpNumThreads: 1, logSeverityLevel: 3, extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } };
for (const name of positionals.length ? positionals : Object.keys(CASES)) {
  const file = join(models, `${name}.onnx`);
  if (!existsSync(file)) throw new Error(`${file} is missing: run scripts/fetch-test-material.sh`);
  for (const precision of ['fp32', 'int8']) {
    const source = precision === 'fp32' ? file : await int8Bytes(file, CASES[name]);
    let t0 = performance.now();
    const octet = await InferenceSession.create(source, { threads });
    const oFeeds = feedsFor(CASES[name], Tensor);
    await octet.run(oFeeds); // prepares the plan for these sizes
    const octetCreateMs = performance.now() - t0;
    t0 = performance.now();
    // No spin-waiting: idle onnxruntime threads would otherwise steal the core octet runs on.
    const peer = await ort.InferenceSession.create(source, ortOptions);
    const peerCreateMs = performance.now() - t0;
    const pFeeds = feedsFor(CASES[name], ort.Tensor);
    for (let i = 0; i < 3; i++) {
      await octet.run(oFeeds);
      await peer.run(pFeeds);
    }
    const a = [];
    const b = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      await octet.run(oFeeds);
      a.push(performance.now() - t);
      t = performance.now();
      await peer.run(pFeeds);
      b.push(performance.now() - t);
    }
    const sa = stats(a);
    const sb = stats(b);
    results.push({ model: name, precision, threads, octet: sa, onnxruntime: sb, speedup: sb.median / sa.median, octetCreateMs, peerCreateMs });
    await octet.release();
  }
}
const fp32Of = (r) => results.find((x) => x.model === r.model && x.precision === 'fp32');
if (values.json) {
  console.log(JSON.stringify({ cpu: process.arch, threads, runs, results }, null, 2));
} else {
  console.log(`octet vs onnxruntime-node ${ort.env?.versions?.common ?? ''}, ${threads} thread(s), ${runs} interleaved runs, ms`);
  console.log('model             prec   octet med/p90     ort med/p90       octet/ort   octet vs ort fp32');
  for (const r of results) {
    const vsFp32 = fp32Of(r).onnxruntime.median / r.octet.median;
    console.log(`${r.model.padEnd(17)} ${r.precision.padEnd(6)} ${r.octet.median.toFixed(2).padStart(7)}/${r.octet.p90.toFixed(2).padEnd(8)} ${r.onnxruntime.median.toFixed(2).padStart(7)}/${r.onnxruntime.p90.toFixed(2).padEnd(8)} ${r.speedup.toFixed(2).padStart(6)}x   ${vsFp32.toFixed(2)}x`);
  }
}
