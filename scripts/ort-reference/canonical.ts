/**
 * Writes octet's canonical fp32 form of a model (src/passes canonicalize: opset >= 13, Constant nodes as
 * initializers, BatchNormalization folded, constant Ifs inlined), with graph inputs frozen. Used by
 * scripts/ort-reference.sh where onnxruntime's quantizer cannot handle the original graph (Silero VAD: its LSTM
 * weights live outside the If that selects the sample rate, and quantize_dynamic quantizes nothing there).
 *
 *   canonical.ts IN OUT [NAME=VALUE ...]      e.g. canonical.ts silero.onnx silero.16k.onnx sr=16000
 */
import { writeFileSync } from 'node:fs';

import { loadModel, serializeModel } from '../../src/onnx/io.js';
import { canonicalize } from '../../src/passes/manager.js';

const [input, output, ...frozen] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: canonical.ts IN OUT [NAME=VALUE ...]\n');
  process.exit(2);
}
const freezeInputs: Record<string, number> = {};
for (const kv of frozen) {
  const [name, value] = kv.split('=');
  freezeInputs[name] = Number(value);
}
const model = loadModel(input);
const reports = canonicalize(model, { freezeInputs, skip: ['tag-activations'] });
for (const r of reports) if (r.changes.length > 0) process.stdout.write(`${r.name}: ${r.changes.length} changes\n`);
writeFileSync(output, serializeModel(model));
