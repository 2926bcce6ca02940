/**
 * ONNX element types (TensorProto.DataType): names, sizes, and which typed field of TensorProto carries them
 * when raw_data is not used. Values up to IR version 10 (float8 variants, int4/uint4, float4e2m1).
 */

export const DataType = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
} as const;
export type DataType = (typeof DataType)[keyof typeof DataType];

/** Which TensorProto repeated field holds the values when raw_data is absent. */
export type TypedField = 'floatData' | 'int32Data' | 'stringData' | 'int64Data' | 'doubleData' | 'uint64Data';

interface DTypeInfo {
  name: string;
  /** Bits per element (4 for the packed 4-bit types, 0 for strings). */
  bits: number;
  field: TypedField;
}

const INFO: Record<number, DTypeInfo> = {
  1: { name: 'float32', bits: 32, field: 'floatData' },
  2: { name: 'uint8', bits: 8, field: 'int32Data' },
  3: { name: 'int8', bits: 8, field: 'int32Data' },
  4: { name: 'uint16', bits: 16, field: 'int32Data' },
  5: { name: 'int16', bits: 16, field: 'int32Data' },
  6: { name: 'int32', bits: 32, field: 'int32Data' },
  7: { name: 'int64', bits: 64, field: 'int64Data' },
  8: { name: 'string', bits: 0, field: 'stringData' },
  9: { name: 'bool', bits: 8, field: 'int32Data' },
  10: { name: 'float16', bits: 16, field: 'int32Data' },
  11: { name: 'float64', bits: 64, field: 'doubleData' },
  12: { name: 'uint32', bits: 32, field: 'uint64Data' },
  13: { name: 'uint64', bits: 64, field: 'uint64Data' },
  14: { name: 'complex64', bits: 64, field: 'floatData' },
  15: { name: 'complex128', bits: 128, field: 'doubleData' },
  16: { name: 'bfloat16', bits: 16, field: 'int32Data' },
  17: { name: 'float8e4m3fn', bits: 8, field: 'int32Data' },
  18: { name: 'float8e4m3fnuz', bits: 8, field: 'int32Data' },
  19: { name: 'float8e5m2', bits: 8, field: 'int32Data' },
  20: { name: 'float8e5m2fnuz', bits: 8, field: 'int32Data' },
  21: { name: 'uint4', bits: 4, field: 'int32Data' },
  22: { name: 'int4', bits: 4, field: 'int32Data' },
  23: { name: 'float4e2m1', bits: 4, field: 'int32Data' },
};

export function isKnownDataType(dtype: number): dtype is DataType {
  return INFO[dtype] !== undefined;
}

/** `float32`, `int8`, ...; `dtype(99)` for values this version does not know. */
export function dataTypeName(dtype: number): string {
  return INFO[dtype]?.name ?? `dtype(${dtype})`;
}

export function dataTypeFromName(name: string): DataType | undefined {
  for (const [key, info] of Object.entries(INFO)) if (info.name === name) return Number(key) as DataType;
  return undefined;
}

export function bitsPerElement(dtype: number): number {
  return INFO[dtype]?.bits ?? 0;
}

/** Bytes a dense tensor of `count` elements takes in raw_data (4-bit types pack two per byte). */
export function byteLengthOf(dtype: number, count: number): number {
  const bits = bitsPerElement(dtype);
  return bits === 4 ? Math.ceil(count / 2) : (count * bits) / 8;
}

export function typedFieldOf(dtype: number): TypedField | undefined {
  return INFO[dtype]?.field;
}

export function isFloatType(dtype: number): boolean {
  return dtype === DataType.FLOAT || dtype === DataType.FLOAT16 || dtype === DataType.DOUBLE || dtype === DataType.BFLOAT16 || (dtype >= 17 && dtype <= 20) || dtype === 23;
}

// ---- float16 / bfloat16 conversions ----

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE half-precision bits to a number. */
export function float16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** A number to IEEE half-precision bits, rounding to nearest even. */
export function numberToFloat16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let m = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    if (rest > half || (rest === half && (m & 1) !== 0)) m++;
    return sign | m;
  }
  let m = mantissa >> 13;
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (m & 1) !== 0)) {
    m++;
    if (m === 0x400) {
      m = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | m;
}

export function bfloat16ToNumber(bits: number): number {
  u32[0] = (bits & 0xffff) << 16;
  return f32[0];
}

/** A number to bfloat16 bits, rounding to nearest even. */
export function numberToBfloat16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return (x >>> 16) | 0x40;
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
