import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { loadModel, saveModel } from '../../../src/onnx/io.js';
import { canonicalize } from '../../../src/passes/manager.js';
import { REAL_MODELS, realModel } from '../onnx/helpers/onnx.js';
import { compareModels } from '../onnx/helpers/ort.js';
import { realFeeds } from '../onnx/helpers/real-inputs.js';

describe('canonicalize: invalid arguments', () => {
  const model = () => loadModel(realModel('ppocr_cls'));

  it('rejects a misspelled option, suggesting the right one', () => {
    expect(() => canonicalize(model(), { skp: [] } as never)).toThrow(new TypeError("Unknown option 'skp' in options; did you mean 'skip'?"));
  });

  it('rejects an unknown pass name, listing the passes', () => {
    expect(() => canonicalize(model(), { passes: ['fuse-bn'] as never })).toThrow(
      new RangeError(
        "Expected one of 'upgrade-opset', 'freeze-inputs', 'constant-to-initializer', 'eliminate-identity', 'inline-constant-if', 'fold-constants', 'fuse-bn-into-conv', 'fuse-affine-into-conv', 'eliminate-dead-nodes', 'tag-activations' for options.passes[0] but received 'fuse-bn' of type string",
      ),
    );
    expect(() => canonicalize(model(), { skip: 'tag-activations' as never })).toThrow(
      new TypeError("Expected array of pass names for options.skip but received 'tag-activations' of type string"),
    );
  });

  it('rejects a target opset other than 13 and an unknown frozen input', () => {
    expect(() => canonicalize(model(), { targetOpset: 17 })).toThrow(new RangeError('Expected 13 for options.targetOpset but received 17 of type number'));
    expect(() => canonicalize(model(), { freezeInputs: { sr: 16000 } })).toThrow(new RangeError("Unknown graph input 'sr' in options.freezeInputs; inputs are 'x'"));
  });
});

describe('canonicalize: all passes keep the outputs of the real models', () => {
  for (const name of REAL_MODELS) {
    it(name, async () => {
      const bytes = new Uint8Array(readFileSync(realModel(name)));
      const model = loadModel(bytes);
      const report = canonicalize(model, name.startsWith('silero') ? { freezeInputs: { sr: 16000 } } : {});
      expect(model.opsetVersion('')).toBeGreaterThanOrEqual(13);
      // Subgraphs of data-dependent Ifs may keep an Identity that forwards an outer value as a branch output.
      expect(model.graph.nodes.filter((n) => ['Constant', 'Identity', 'Dropout', 'BatchNormalization'].includes(n.opType)).map((n) => n.label)).toEqual([]);
      expect([...model.graph.allNodes()].filter((n) => ['Constant', 'BatchNormalization'].includes(n.opType)).map((n) => n.label)).toEqual([]);
      // The If on the sample rate is gone (the decoder's data-dependent Ifs stay).
      if (name.startsWith('silero')) expect(model.graph.nodes.filter((n) => n.name === 'If_0' || n.name === 'node_cond__1').map((n) => n.label)).toEqual([]);
      expect(report.map((r) => r.name)).toContain('fuse-bn-into-conv');
      const errors = await compareModels(bytes, saveModel(model), realFeeds(name));
      // BatchNormalization and affine folding round the weights once more: on the PP-OCR detector this moves the
      // output by ~3.8e-5 of its range (BN alone ~1.6e-5, about what onnxruntime's own Conv+BN fusion does; see
      // fuse-bn-into-conv.test and fuse-affine-into-conv.test).
      const tolerance = name === 'ppocr_det' ? 5e-5 : 1e-5;
      for (const [output, err] of Object.entries(errors)) expect(err, `${name}:${output}`).toBeLessThanOrEqual(tolerance);
    });
  }
});
