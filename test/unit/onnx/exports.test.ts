import { describe, expect, it } from 'vitest';

import * as octet from '../../../src/index.js';
import { realModel } from './helpers/onnx.js';

describe('public API', () => {
  it('exports the model I/O, IR and passes', () => {
    for (const name of ['loadModel', 'saveModel', 'serializeModel', 'Model', 'Graph', 'Node', 'Value', 'Tensor', 'OnnxError', 'verifyModel', 'inferShapes', 'canonicalize', 'runPass', 'summarizeModel', 'DataType']) {
      expect(octet, name).toHaveProperty(name);
    }
    expect(new octet.OnnxError('x')).toBeInstanceOf(octet.OctetError);
  });

  it('loads, canonicalizes and saves through the package entry point', () => {
    const model = octet.loadModel(realModel('ppocr_cls'));
    const report = octet.canonicalize(model);
    expect(report.map((r) => r.name)).toEqual(octet.PASS_NAMES);
    const again = octet.loadModel(octet.saveModel(model));
    expect(again.opsetVersion('')).toBe(13);
    expect(again.graph.nodes.filter((n) => n.opType === 'Conv')[0].input(1)!.initializer!.asFloat32().length).toBeGreaterThan(0);
  });
});
