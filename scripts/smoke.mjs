#!/usr/bin/env node
// Smoke test for an installed octet package (run from a project that depends on it, under any arch):
// loads the addon, lists the backends, runs an int8 fully-connected layer (per-channel and per-tensor) on
// each available backend, checks it against the scalar reference (±1, < 1 % differing) and writes the
// outputs to the JSON file named by argv[2] so runs on two machines can be compared. With argv[3] (an int8 ONNX
// model with one float input) and argv[4] (a raw little-endian float32 input file with the dims in argv[5],
// e.g. 1,3,48,192) it also runs that real model and stores its outputs under "model:<output name>".
import { writeFileSync } from 'node:fs';

import { backends, FullyConnectedInt8, InferenceSession, onednnHasInt8Dot, referenceFullyConnected, Tensor } from 'octet';

const info = backends();
console.log(`${process.arch}: ${info.map((b) => (b.available ? `${b.name} isa=${b.isa}` : `${b.name} unavailable`)).join(', ')}`);
let seed = 99;
const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 4294967296);
const batch = 9, k = 200, n = 48;
const input = Int8Array.from({ length: batch * k }, () => Math.floor(next() * 256) - 128);
const weights = Int8Array.from({ length: n * k }, () => Math.floor(next() * 255) - 127);
const bias = Int32Array.from({ length: n }, () => Math.floor((next() - 0.5) * 20000));
const results = {};
let failed = false;
for (const perChannel of [true, false]) {
  const weightScale = perChannel ? Float32Array.from({ length: n }, () => 0.002 + next() * 0.004) : Float32Array.of(0.003);
  const q = { input: { scale: 0.02, zeroPoint: 5 }, output: { scale: 0.15, zeroPoint: -7 } };
  const expected = referenceFullyConnected({
    input, batch, inputChannels: k, outputChannels: n, inputScale: 0.02, inputZeroPoint: 5, weights,
    weightScales: weightScale, bias, outputScale: 0.15, outputZeroPoint: -7, outputMin: -128, outputMax: 127,
  });
  for (const b of info.filter((x) => x.available)) {
    if (b.name === 'onednn' && !onednnHasInt8Dot()) {
      // Without VNNI/AMX oneDNN's int8 saturates: octet must refuse it rather than compute drifting results.
      let code;
      try {
        FullyConnectedInt8.create({ backend: b.name, inputChannels: k, outputChannels: n, weights, weightScale, bias, ...q });
      } catch (err) {
        code = err.code;
      }
      const ok = code === 'ERR_OCTET_BACKEND_UNAVAILABLE';
      failed ||= !ok;
      console.log(`  onednn ${perChannel ? 'per-channel' : 'per-tensor '}: int8 refused on isa=${b.isa} (no int8 dot product) ${ok ? 'OK' : `FAIL (${code})`}`);
      continue;
    }
    const fc = FullyConnectedInt8.create({ backend: b.name, inputChannels: k, outputChannels: n, weights, weightScale, bias, ...q });
    const y = await fc.run(input);
    let differ = 0, maxDiff = 0;
    for (let i = 0; i < y.length; i++) {
      const d = Math.abs(y[i] - expected[i]);
      if (d) differ++;
      maxDiff = Math.max(maxDiff, d);
    }
    const ok = maxDiff <= 1 && differ / y.length < 0.01;
    failed ||= !ok;
    console.log(`  ${b.name} ${perChannel ? 'per-channel' : 'per-tensor '} ${fc.implementation}: ${differ}/${y.length} differ from reference, max ${maxDiff} ${ok ? 'OK' : 'FAIL'}`);
    results[`${b.name}:${perChannel ? 'pc' : 'pt'}`] = Array.from(y);
    fc.release();
  }
}
if (process.argv[3]) {
  const { readFileSync } = await import('node:fs');
  const session = await InferenceSession.create(process.argv[3]);
  const raw = readFileSync(process.argv[4]);
  const x = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const dims = process.argv[5].split(',').map(Number);
  const out = await session.run({ [session.inputNames[0]]: new Tensor('float32', Float32Array.from(x), dims) });
  const int8Kernels = session.implementations().filter((k) => /int8|qs8|qu8|qc8|brg/.test(k)).length;
  console.log(`  real int8 model ${process.argv[3].split('/').pop()}: ${int8Kernels} int8 kernels, outputs ${session.outputNames.map((n) => `${n}[${out[n].dims}]`).join(', ')}`);
  if (int8Kernels === 0) failed = true;
  for (const n of session.outputNames) results[`model:${n}`] = Array.from(out[n].data);
  await session.release();
}
if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify(results));
process.exit(failed ? 1 : 0);
