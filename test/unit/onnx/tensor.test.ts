import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { Tensor } from '../../../src/ir/tensor.js';
import { DataType, bfloat16ToNumber, dataTypeName, float16ToNumber, numberToBfloat16, numberToFloat16 } from '../../../src/onnx/dtype.js';
import { OnnxError } from '../../../src/onnx/errors.js';
import { loadModel } from '../../../src/onnx/io.js';
import { decodeTensorProto, encodeTensorProto, onnx } from '../../../src/onnx/proto.js';
import { decodeTensor, encodeTensor } from '../../../src/onnx/tensor-proto.js';
import { nodeTestCases } from './helpers/onnx.js';

const tensorBytes = (o: object): Uint8Array => onnx.TensorProto.encode(onnx.TensorProto.fromObject(o)).finish();

describe('Tensor accessors: invalid use', () => {
  it('refuses to view a tensor as another type, naming it', () => {
    const t = Tensor.fromInt64('shape', [2], [1, 2]);
    expect(() => t.asFloat32()).toThrow(new TypeError("Tensor 'shape' is int64, not float32"));
    expect(() => Tensor.fromFloat32('w', [2, 2], [1, 2, 3])).toThrow(new RangeError("Expected 4 values for tensor 'w' of shape [2, 2] but received 3"));
  });
});

describe('TensorProto decoding', () => {
  it('reads typed fields and raw_data to the same bytes for every numeric type', () => {
    const cases: [number, string, number[]][] = [
      [DataType.FLOAT, 'floatData', [1.5, -2, 3.25]],
      [DataType.DOUBLE, 'doubleData', [1.5, -2, 1e300]],
      [DataType.INT32, 'int32Data', [-5, 0, 2147483647]],
      [DataType.INT8, 'int32Data', [-128, 0, 127]],
      [DataType.UINT8, 'int32Data', [0, 1, 255]],
      [DataType.INT16, 'int32Data', [-32768, 1, 32767]],
      [DataType.UINT16, 'int32Data', [0, 1, 65535]],
      [DataType.BOOL, 'int32Data', [1, 0, 1]],
      [DataType.INT64, 'int64Data', [-3, 0, 9007199254740991]],
      [DataType.UINT32, 'uint64Data', [0, 1, 4294967295]],
    ];
    for (const [dtype, field, values] of cases) {
      const fromTyped = decodeTensor(decodeTensorProto(tensorBytes({ name: 't', dataType: dtype, dims: [3], [field]: values })));
      const reference = Tensor.fromNumbers('t', dtype, [3], values);
      expect(Buffer.from(fromTyped.data).equals(Buffer.from(reference.data)), dataTypeName(dtype)).toBe(true);
      expect(fromTyped.toNumbers()).toEqual(dtype === DataType.BOOL ? [1, 0, 1] : values);
      const again = decodeTensor(decodeTensorProto(encodeTensorProto(encodeTensor(fromTyped))));
      expect(Buffer.from(again.data).equals(Buffer.from(reference.data))).toBe(true);
    }
  });

  it('keeps int64 values beyond 2^53 exact', () => {
    const t = decodeTensor(decodeTensorProto(tensorBytes({ dataType: DataType.INT64, dims: [2], int64Data: ['9223372036854775807', '-9223372036854775808'] })));
    expect(t.asInt64()).toEqual(BigInt64Array.of(9223372036854775807n, -9223372036854775808n));
  });

  it('reads float16, bfloat16 and int4 / uint4 (packed two per byte)', () => {
    const f16 = decodeTensor(decodeTensorProto(tensorBytes({ dataType: DataType.FLOAT16, dims: [3], int32Data: [0x3c00, 0xc000, 0x7c00] })));
    expect(f16.toFloat32()).toEqual(Float32Array.of(1, -2, Infinity));
    const bf16 = decodeTensor(decodeTensorProto(tensorBytes({ dataType: DataType.BFLOAT16, dims: [2], rawData: Uint8Array.of(0x80, 0x3f, 0x40, 0xc0) })));
    expect(bf16.toNumbers()).toEqual([1, -3]);
    const i4 = decodeTensor(decodeTensorProto(tensorBytes({ dataType: DataType.INT4, dims: [3], rawData: Uint8Array.of(0xf7, 0x08) })));
    expect(i4.toNumbers()).toEqual([7, -1, -8]);
    const u4 = decodeTensor(decodeTensorProto(tensorBytes({ dataType: DataType.UINT4, dims: [3], int32Data: [0x21, 0x0f] })));
    expect(u4.toNumbers()).toEqual([1, 2, 15]);
    expect(u4.data.length).toBe(2);
  });

  it('converts float16 and bfloat16 both ways, rounding to nearest even', () => {
    for (const v of [0, 1, -2, 0.1, 65504, 6.1e-5, 1e-7, -0]) expect(float16ToNumber(numberToFloat16(v))).toBeCloseTo(v, 3);
    expect(numberToFloat16(1e6)).toBe(0x7c00);
    expect(bfloat16ToNumber(numberToBfloat16(3.140625))).toBe(3.140625);
    expect(numberToBfloat16(1 + 2 ** -8)).toBe(0x3f80); // ties to even
  });

  it('rejects a string tensor with the wrong number of strings', () => {
    const bytes = tensorBytes({ name: 's', dataType: DataType.STRING, dims: [2], stringData: [new Uint8Array([97])] });
    expect(() => decodeTensor(decodeTensorProto(bytes))).toThrow(OnnxError);
    expect(() => decodeTensor(decodeTensorProto(bytes))).toThrow("Tensor 's' declares 2 elements but holds 1 strings");
  });

  it('decodes every test_data_set_0 tensor of the backend suite to the dtype and dims its model declares', () => {
    const failures: string[] = [];
    let checked = 0;
    for (const c of nodeTestCases()) {
      const dir = join(c.dir, 'test_data_set_0');
      if (!existsSync(dir)) continue;
      const model = loadModel(join(c.dir, 'model.onnx'));
      for (const file of readdirSync(dir)) {
        const m = /^(input|output)_(\d+)\.pb$/.exec(file);
        if (!m) continue;
        const declared = (m[1] === 'input' ? model.graph.inputs.filter((v) => !v.initializer) : model.graph.outputs)[Number(m[2])];
        let t: Tensor;
        try {
          t = decodeTensor(decodeTensorProto(readFileSync(join(dir, file))));
        } catch (err) {
          // Sequences and optionals are stored as other message types.
          if (declared?.type?.kind === 'tensor') failures.push(`${c.name}/${file}: ${(err as Error).message}`);
          continue;
        }
        const type = declared?.tensorType;
        if (!type) continue;
        checked++;
        // The suite stores bfloat16 data as uint16.
        if (t.dtype !== type.elemType && !(type.elemType === DataType.BFLOAT16 && t.dtype === DataType.UINT16)) {
          failures.push(`${c.name}/${file}: dtype ${dataTypeName(t.dtype)}, declared ${dataTypeName(type.elemType)}`);
        }
        // ONNX 1.12's CastLike bfloat16 cases store a 1-element `target_type` tensor for a [3, 4] input.
        const knownQuirk = c.name.startsWith('test_castlike_') && c.name.includes('BFLOAT16') && file === 'input_1.pb';
        if (!knownQuirk && type.shape && (type.shape.length !== t.dims.length || type.shape.some((d, i) => typeof d === 'number' && d !== t.dims[i]))) {
          failures.push(`${c.name}/${file}: dims [${t.dims}], declared [${type.shape}]`);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(1500);
  });
});
