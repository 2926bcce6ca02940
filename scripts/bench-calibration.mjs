#!/usr/bin/env node
// Times observe() and range() of each calibration observer on 1M-element float32 batches, and quantizeAffine.
// Not a test: numbers depend on the machine. Usage: node scripts/bench-calibration.mjs [elements] [batches]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { build } from 'esbuild';

const n = Number(process.argv[2] ?? 1_000_000);
const batches = Number(process.argv[3] ?? 20);
const dir = mkdtempSync(join(tmpdir(), 'octet-bench-'));
const out = join(dir, 'calibration.mjs');
const entry = `export * from './src/calibration/index.ts'; export * from './src/quantize/index.ts';`;
await build({ stdin: { contents: entry, resolveDir: process.cwd(), loader: 'ts' }, bundle: true, format: 'esm', platform: 'node', outfile: out, logLevel: 'error' });
const lib = await import(pathToFileURL(out).href);
rmSync(dir, { recursive: true });

// Gaussian data (Box-Muller on a fixed LCG), with the scale growing so that histograms keep widening.
const x = new Float32Array(n);
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) + 0.5) / 4294967296;
for (let i = 0; i < n; i++) x[i] = Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());

const median = (a) => a.sort((p, q) => p - q)[a.length >> 1];
console.log(`${n} elements per observe(), ${batches} batches; median ms`);
for (const method of (process.env.METHODS ?? 'minmax,entropy,percentile,mse').split(',')) {
  const o = lib.createObserver(method);
  const times = [];
  for (let b = 0; b < batches; b++) {
    const t = performance.now();
    o.observe(x);
    times.push(performance.now() - t);
  }
  const r = [];
  for (let k = 0; k < 3; k++) {
    const t = performance.now();
    o.range();
    r.push(performance.now() - t);
  }
  console.log(`${method.padEnd(10)} observe ${median(times).toFixed(2).padStart(7)}   range ${median(r).toFixed(2).padStart(7)}`);
}
const q = [];
for (let b = 0; b < batches; b++) {
  const t = performance.now();
  lib.quantizeAffine(x, 0.03, 0, 'int8');
  q.push(performance.now() - t);
}
console.log(`quantizeAffine int8 ${median(q).toFixed(2)} ms`);
