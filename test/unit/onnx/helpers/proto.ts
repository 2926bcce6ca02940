/** Hand-built ModelProto bytes, for models the IR refuses to represent (duplicates, cycles, ...). */
import { onnx } from '../../../../src/onnx/proto.js';

export function encodeModelObject(o: object): Uint8Array {
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(o)).finish();
}

export const BASE = { irVersion: 8, opsetImport: [{ domain: '', version: 13 }] };

export function valueInfo(name: string, dims: (number | string)[], elemType = 1): object {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

export function graphModel(graph: object): Uint8Array {
  return encodeModelObject({ ...BASE, graph: { name: 'g', ...graph } });
}
