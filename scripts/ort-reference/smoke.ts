/**
 * One-shot smoke check of the benchmark models (scripts/ort-reference.sh --bench-models): each .onnx in DIR
 * loads and runs once in octet and in onnxruntime-node on the same input (batch 1: a fixture photo at 224x224
 * for the vision models, noise for the Transformer), and the outputs are compared. Not a benchmark.
 *
 *   smoke.ts DIR
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { InferenceSession, Tensor } from '../../src/index.js';
import { sqnr } from '../../src/quantize/metrics.js';
import { photoTensor } from '../../test/unit/onnx/helpers/images.js';
import { randomInput } from '../../test/unit/onnx/helpers/build.js';
import { ort } from '../../test/unit/onnx/helpers/ort.js';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: smoke.ts DIR\n');
  process.exit(2);
}
let failed = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort()) {
  const path = join(dir, file);
  try {
    const session = await InferenceSession.create(path);
    const meta = session.inputMetadata[0];
    const dims = meta.shape.length === 4 ? [1, 3, 224, 224] : [1, 128, 256];
    const data = dims.length === 4 ? photoTensor('coffee.png', 224, 224, 0.449, 0.226) : randomInput(dims, 11);
    let t = performance.now();
    const mine = await session.run({ [meta.name]: new Tensor('float32', data, dims) });
    const octetMs = performance.now() - t;
    const kernels = session.implementations();
    const int8 = kernels.filter((k) => /qc8|qs8|qu8|int8|brg/.test(k)).length;
    const peer = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, logSeverityLevel: 3 });
    t = performance.now();
    const theirs = await peer.run({ [meta.name]: new ort.Tensor('float32', data, dims) });
    const ortMs = performance.now() - t;
    const out = session.outputNames[0];
    const db = sqnr(theirs[out].data as Float32Array, mine[out].data as Float32Array);
    console.log(`${file}: runs in octet (${kernels.length} plan kernels, ${int8} int8; first run ${octetMs.toFixed(0)} ms) and onnxruntime-node (first run ${ortMs.toFixed(0)} ms); output '${out}' [${mine[out].dims}] octet vs onnxruntime SQNR ${db.toFixed(1)} dB`);
    await session.release();
    await peer.release();
  } catch (err) {
    failed++;
    console.log(`${file}: FAILED: ${(err as Error).message.split('\n')[0]}`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
