#!/usr/bin/env node
// The main job, as far as octet goes today: show what the vendor libraries detect on this machine, then
// run one int8 fully-connected layer (per-channel weights, int32 bias) on every backend, check it against
// the scalar reference and report its speed. Run after `npm run build`.
import { backends, FullyConnectedInt8, referenceFullyConnected } from '../dist/index.js';

const info = backends();
console.log('octet backends on this machine:');
for (const b of info) {
  console.log(b.available ? `  ${b.name.padEnd(8)} ${b.version}  isa=${b.isa}  features=${b.features.join(',')}` : `  ${b.name.padEnd(8)} unavailable: ${b.error}`);
}

// A classifier head: 64 rows x 1280 inputs -> 1000 classes, deterministic pseudo-random int8 data.
const batch = 64, k = 1280, n = 1000;
let seed = 12345;
const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const input = Int8Array.from({ length: batch * k }, () => Math.floor(next() * 256) - 128);
const weights = Int8Array.from({ length: n * k }, () => Math.floor(next() * 255) - 127);
const weightScale = Float32Array.from({ length: n }, () => 0.002 + next() * 0.004);
const bias = Int32Array.from({ length: n }, () => Math.floor((next() - 0.5) * 40000));
const inputQ = { scale: 0.02, zeroPoint: -3 };
const outputQ = { scale: 0.5, zeroPoint: 4 };
const expected = referenceFullyConnected({
  input, batch, inputChannels: k, outputChannels: n, inputScale: inputQ.scale, inputZeroPoint: inputQ.zeroPoint,
  weights, weightScales: weightScale, bias, outputScale: outputQ.scale, outputZeroPoint: outputQ.zeroPoint,
  outputMin: -128, outputMax: 127,
});

console.log(`\nint8 fully-connected ${batch}x${k} -> ${n}, per-channel weights, 1 thread:`);
const results = [];
for (const b of info.filter((x) => x.available)) {
  const fc = FullyConnectedInt8.create({
    backend: b.name, inputChannels: k, outputChannels: n, weights, weightScale, bias, input: inputQ, output: outputQ,
  });
  const out = new Int8Array(batch * n);
  await fc.run(input, out);
  let mismatches = 0, maxDiff = 0;
  for (let i = 0; i < out.length; i++) {
    const d = Math.abs(out[i] - expected[i]);
    if (d) mismatches++;
    maxDiff = Math.max(maxDiff, d);
  }
  const times = [];
  for (let r = 0; r < 25; r++) {
    const t0 = process.hrtime.bigint();
    await fc.run(input, out);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, c) => a - c);
  const ms = times[Math.floor(times.length / 2)];
  const gops = (2 * batch * k * n) / (ms * 1e6);
  results.push({ name: b.name, ms });
  console.log(`  ${b.name.padEnd(8)} ${fc.implementation}\n           vs reference: ${mismatches}/${out.length} differ, max |diff| ${maxDiff}; median ${ms.toFixed(3)} ms (${gops.toFixed(1)} GOPS)`);
  fc.release();
}
const [x, o] = ['xnnpack', 'onednn'].map((name) => results.find((r) => r.name === name));
if (x && o) console.log(`  oneDNN is ${(x.ms / o.ms).toFixed(2)}x as fast as XNNPACK on this layer (same run, medians of 25)`);
