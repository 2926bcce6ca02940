/**
 * Regressions found by scripts/fuzz.mjs, rebuilt here as small hand-made models (the fuzz cases themselves were
 * mutations of real models). Each once crashed the process, hung it, or ended in an engine error instead of a
 * typed one; now each ends in a named OnnxError or a working session.
 */
import { describe, expect, it } from 'vitest';

import { canonicalize, InferenceSession, loadModel, OnnxError, Tensor } from '../../../src/index.js';
import { encodeModelObject, graphModel, valueInfo as vi } from '../onnx/helpers/proto.js';

describe('fuzz regressions', () => {
  it('Reshape with a shape input declared [2147483648]: a session, not a V8 out-of-memory abort (seed 2, case 2275)', async () => {
    // Shape inference spelled out an output of rank 2^31 (new Array(2^31).fill(null)), which aborts V8.
    const bytes = graphModel({
      input: [vi('data', [2, 3, 4]), vi('shape', [2147483648], 7)],
      output: [vi('reshaped', [])],
      node: [{ opType: 'Reshape', input: ['data', 'shape'], output: ['reshaped'] }],
    });
    const s = await InferenceSession.create(bytes);
    expect(s.inputMetadata.map((m) => m.shape)).toEqual([[2, 3, 4], [2147483648]]);
    await s.release();
    // The same through ConstantOfShape's shape inference (the runtime then refuses the op, by name: a plan value
    // has rank <= 8).
    const bytes2 = graphModel({
      input: [vi('shape', [2147483648], 7)],
      output: [vi('y', [])],
      node: [{ opType: 'ConstantOfShape', input: ['shape'], output: ['y'] }],
    });
    canonicalize(loadModel(bytes2));
    await expect(InferenceSession.create(bytes2)).rejects.toThrow('the runtime does not support ConstantOfShape of rank 2147483648 (at most 8) (1 node, first ConstantOfShape #0)');
  });

  it("opset-9 Clip on an input whose element type is 0: an OnnxError, not a TypeError from the opset upgrade (seed 1, case 361)", async () => {
    const bytes = encodeModelObject({
      irVersion: 4,
      opsetImport: [{ domain: '', version: 9 }],
      graph: {
        name: 'g',
        input: [vi('x', [1, 4], 0)],
        output: [vi('y', [1, 4])],
        node: [{ opType: 'Clip', name: 'clip', input: ['x'], output: ['y'], attribute: [{ name: 'min', type: 1, f: 0 }, { name: 'max', type: 1, f: 6 }] }],
      },
    });
    const model = loadModel(bytes);
    let err: unknown;
    try {
      canonicalize(model);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OnnxError);
    expect((err as OnnxError).message).toBe("Node Clip 'clip': input 'x' has element type dtype(0), not a number type, so attribute 'min' cannot become an input");
    await expect(InferenceSession.create(bytes)).rejects.toMatchObject({ name: 'OnnxError', tensor: 'x', message: "input 'x' has element type onnx:0, which the runtime does not support" });
    const noType = encodeModelObject({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], graph: { name: 'g', input: [{ name: 'x' }], output: [vi('y', [1])], node: [{ opType: 'Relu', input: ['x'], output: ['y'] }] } });
    await expect(InferenceSession.create(noType)).rejects.toMatchObject({ name: 'OnnxError', tensor: 'x', message: "input 'x' has no tensor type, which the runtime does not support" });
  });

  it('an opset-9 Clip without inputs: an OnnxError naming it, not a TypeError from the opset upgrade (seed 20241201, case 2027)', async () => {
    // The fuzz case swapped the op types of a Constant (no inputs) and a Clip in the PP-OCR classifier.
    const bytes = encodeModelObject({
      irVersion: 4,
      opsetImport: [{ domain: '', version: 9 }],
      graph: {
        name: 'g',
        input: [vi('x', [1, 4])],
        output: [vi('y', [1, 4])],
        node: [
          { opType: 'Clip', name: 'clip', input: [], output: ['c'], attribute: [{ name: 'min', type: 1, f: 0 }] },
          { opType: 'Add', name: 'add', input: ['x', 'c'], output: ['y'] },
        ],
      },
    });
    await expect(InferenceSession.create(bytes)).rejects.toMatchObject({ name: 'OnnxError', node: 'clip', message: "Node Clip 'clip': input 0 of Clip is missing" });
  });

  it('a value dim of -2^63 reads as unknown, like -1, not as "more than allowed" (seed 4)', async () => {
    const bytes = graphModel({
      input: [vi('x', [1, 4])],
      output: [{ name: 'y', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: '-9223372036854775808' }, { dimValue: 4 }] } } } }],
      node: [{ opType: 'Relu', input: ['x'], output: ['y'] }],
    });
    expect(loadModel(bytes).graph.outputs[0].shape).toEqual([null, 4]);
    const s = await InferenceSession.create(bytes);
    const r = await s.run({ x: new Tensor('float32', Float32Array.of(-1, 2, -3, 4), [1, 4]) });
    expect(Array.from(r.y.data as Float32Array)).toEqual([0, 2, 0, 4]);
    await s.release();
  });

  it('a missing model file: an OnnxError naming it, not a bare ENOENT', async () => {
    await expect(InferenceSession.create('/nonexistent/model.onnx')).rejects.toThrow(/^Cannot read model file '\/nonexistent\/model.onnx': ENOENT/);
    await expect(InferenceSession.create('/nonexistent/model.onnx')).rejects.toBeInstanceOf(OnnxError);
    await expect(InferenceSession.create('')).rejects.toThrow(new RangeError("Expected non-empty path string or Uint8Array for pathOrBytes but received '' of type string"));
  });
});
