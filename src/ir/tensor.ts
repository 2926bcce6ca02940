/**
 * Tensor: a constant (initializer, Constant value, attribute tensor) held as raw little-endian bytes plus dtype
 * and dims, with typed-array accessors so later stages read weights without copying where alignment allows.
 * String tensors hold their elements as byte strings instead.
 */
import {
  bfloat16ToNumber,
  byteLengthOf,
  DataType,
  dataTypeName,
  float16ToNumber,
  numberToBfloat16,
  numberToFloat16,
} from '../onnx/dtype.js';

/** Where an initializer's bytes came from when they were stored outside the model file. */
export interface ExternalDataInfo {
  location: string;
  offset: number;
  length: number | undefined;
  checksum?: string;
  /** Any other key/value pairs of external_data, in file order. */
  extra?: [string, string][];
}

export interface TensorInit {
  name?: string;
  dtype: number;
  dims: readonly number[];
  /** Raw little-endian bytes (packed two per byte for 4-bit types). Not used for strings. */
  data?: Uint8Array;
  /** Elements of a string tensor. */
  strings?: Uint8Array[];
  docString?: string;
}

export class Tensor {
  name: string;
  dtype: number;
  dims: number[];
  docString: string | undefined;
  /** Set when the bytes were read from an external data file; saving writes them inline unless asked otherwise. */
  external: ExternalDataInfo | undefined;
  /** Protobuf fields this version does not model (kept for a lossless round trip). @internal */
  extras: { unknown?: Uint8Array[]; segment?: unknown; metadata?: unknown } = {};
  private _data: Uint8Array;
  private _strings: Uint8Array[] | undefined;

  constructor(init: TensorInit) {
    this.name = init.name ?? '';
    this.dtype = init.dtype;
    this.dims = [...init.dims];
    this.docString = init.docString;
    this.external = undefined;
    if (init.dtype === DataType.STRING) {
      this._strings = init.strings ?? [];
      this._data = new Uint8Array(0);
    } else {
      this._data = init.data ?? new Uint8Array(byteLengthOf(init.dtype, sizeOf(init.dims)));
    }
  }

  /** Number of elements (1 for a scalar). */
  get size(): number {
    return sizeOf(this.dims);
  }

  get rank(): number {
    return this.dims.length;
  }

  get dtypeName(): string {
    return dataTypeName(this.dtype);
  }

  /** Raw little-endian bytes. */
  get data(): Uint8Array {
    return this._data;
  }

  set data(bytes: Uint8Array) {
    this._data = bytes;
  }

  get byteLength(): number {
    return this.dtype === DataType.STRING ? this.strings.reduce((n, s) => n + s.length, 0) : this._data.byteLength;
  }

  get strings(): Uint8Array[] {
    return this._strings ?? [];
  }

  set strings(values: Uint8Array[]) {
    this._strings = values;
  }

  /** A view when the bytes are aligned, else an aligned copy (which then replaces the stored bytes). */
  private aligned(bytesPerElement: number): ArrayBuffer {
    if (this._data.byteOffset % bytesPerElement !== 0) this._data = new Uint8Array(this._data);
    return this._data.buffer as ArrayBuffer;
  }

  private expect(dtype: number, what: string): void {
    if (this.dtype !== dtype) throw new TypeError(`Tensor '${this.name}' is ${this.dtypeName}, not ${what}`);
  }

  asFloat32(): Float32Array {
    this.expect(DataType.FLOAT, 'float32');
    return new Float32Array(this.aligned(4), this._data.byteOffset, this._data.byteLength / 4);
  }

  asFloat64(): Float64Array {
    this.expect(DataType.DOUBLE, 'float64');
    return new Float64Array(this.aligned(8), this._data.byteOffset, this._data.byteLength / 8);
  }

  asInt8(): Int8Array {
    this.expect(DataType.INT8, 'int8');
    return new Int8Array(this._data.buffer, this._data.byteOffset, this._data.byteLength);
  }

  asUint8(): Uint8Array {
    if (this.dtype !== DataType.UINT8 && this.dtype !== DataType.BOOL) this.expect(DataType.UINT8, 'uint8');
    return this._data;
  }

  asInt32(): Int32Array {
    this.expect(DataType.INT32, 'int32');
    return new Int32Array(this.aligned(4), this._data.byteOffset, this._data.byteLength / 4);
  }

  asInt64(): BigInt64Array {
    this.expect(DataType.INT64, 'int64');
    return new BigInt64Array(this.aligned(8), this._data.byteOffset, this._data.byteLength / 8);
  }

  asInt16(): Int16Array {
    this.expect(DataType.INT16, 'int16');
    return new Int16Array(this.aligned(2), this._data.byteOffset, this._data.byteLength / 2);
  }

  asUint16(): Uint16Array {
    if (this.dtype !== DataType.FLOAT16 && this.dtype !== DataType.BFLOAT16 && this.dtype !== DataType.UINT16) {
      this.expect(DataType.UINT16, 'uint16, float16 or bfloat16');
    }
    return new Uint16Array(this.aligned(2), this._data.byteOffset, this._data.byteLength / 2);
  }

  /** The elements as float32, converting from any real numeric type (a copy unless already float32). */
  toFloat32(): Float32Array {
    if (this.dtype === DataType.FLOAT) return this.asFloat32();
    const typed = this.numberView();
    return Float32Array.from(typed ?? this.toNumbers());
  }

  /** The elements as float64 (exact for every integer type up to 2^53); a copy. */
  toFloat64(): Float64Array {
    const typed = this.numberView();
    return Float64Array.from(typed ?? this.toNumbers());
  }

  /**
   * A typed-array view of the elements (not a copy) where one exists for the dtype: float32/64, int8/16/32,
   * uint8/16, bool; undefined for the others (use toNumbers()).
   */
  numberView(): ArrayLike<number> | undefined {
    switch (this.dtype) {
      case DataType.FLOAT: return this.asFloat32();
      case DataType.DOUBLE: return this.asFloat64();
      case DataType.INT8: return this.asInt8();
      case DataType.UINT8:
      case DataType.BOOL: return this.asUint8();
      case DataType.INT16: return this.asInt16();
      case DataType.UINT16: return this.asUint16();
      case DataType.INT32: return this.asInt32();
      default: return undefined;
    }
  }

  /** The elements as JS numbers (int64/uint64 beyond 2^53 lose precision; use asInt64 for exact values). */
  toNumbers(): number[] {
    const d = this._data;
    const view = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const n = this.size;
    const out = new Array<number>(n);
    switch (this.dtype) {
      case DataType.FLOAT:
        for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
        break;
      case DataType.DOUBLE:
        for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
        break;
      case DataType.FLOAT16:
        for (let i = 0; i < n; i++) out[i] = float16ToNumber(view.getUint16(i * 2, true));
        break;
      case DataType.BFLOAT16:
        for (let i = 0; i < n; i++) out[i] = bfloat16ToNumber(view.getUint16(i * 2, true));
        break;
      case DataType.INT8:
        for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
        break;
      case DataType.UINT8:
      case DataType.BOOL:
        for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
        break;
      case DataType.INT16:
        for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
        break;
      case DataType.UINT16:
        for (let i = 0; i < n; i++) out[i] = view.getUint16(i * 2, true);
        break;
      case DataType.INT32:
        for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
        break;
      case DataType.UINT32:
        for (let i = 0; i < n; i++) out[i] = view.getUint32(i * 4, true);
        break;
      case DataType.INT64:
        for (let i = 0; i < n; i++) out[i] = Number(view.getBigInt64(i * 8, true));
        break;
      case DataType.UINT64:
        for (let i = 0; i < n; i++) out[i] = Number(view.getBigUint64(i * 8, true));
        break;
      case DataType.INT4:
      case DataType.UINT4:
        for (let i = 0; i < n; i++) {
          const byte = d[i >> 1];
          const nibble = i & 1 ? byte >> 4 : byte & 15;
          out[i] = this.dtype === DataType.INT4 && nibble >= 8 ? nibble - 16 : nibble;
        }
        break;
      default:
        throw new TypeError(`Tensor '${this.name}' of type ${this.dtypeName} cannot be read as numbers`);
    }
    return out;
  }

  /** The elements as bigint (integer types only). */
  toBigInts(): bigint[] {
    if (this.dtype === DataType.INT64) return Array.from(this.asInt64());
    if (this.dtype === DataType.UINT64) {
      return Array.from(new BigUint64Array(this.aligned(8), this._data.byteOffset, this._data.byteLength / 8));
    }
    return this.toNumbers().map((v) => BigInt(v));
  }

  clone(name = this.name): Tensor {
    const t = new Tensor({ name, dtype: this.dtype, dims: this.dims, data: new Uint8Array(this._data), strings: this._strings?.map((s) => new Uint8Array(s)), docString: this.docString });
    return t;
  }

  // ---- factories ----

  static fromFloat32(name: string, dims: readonly number[], values: ArrayLike<number>): Tensor {
    const a = Float32Array.from(values);
    checkCount(name, dims, a.length);
    return new Tensor({ name, dtype: DataType.FLOAT, dims, data: new Uint8Array(a.buffer) });
  }

  static fromInt64(name: string, dims: readonly number[], values: ArrayLike<number | bigint>): Tensor {
    const a = new BigInt64Array(values.length);
    for (let i = 0; i < values.length; i++) a[i] = BigInt(values[i]);
    checkCount(name, dims, a.length);
    return new Tensor({ name, dtype: DataType.INT64, dims, data: new Uint8Array(a.buffer) });
  }

  /** Any numeric dtype from numbers (rounding/wrapping as a typed array store would). */
  static fromNumbers(name: string, dtype: number, dims: readonly number[], values: ArrayLike<number>): Tensor {
    checkCount(name, dims, values.length);
    const n = values.length;
    const bytes = new Uint8Array(byteLengthOf(dtype, n));
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < n; i++) {
      const v = values[i];
      switch (dtype) {
        case DataType.FLOAT: view.setFloat32(i * 4, v, true); break;
        case DataType.DOUBLE: view.setFloat64(i * 8, v, true); break;
        case DataType.FLOAT16: view.setUint16(i * 2, numberToFloat16(v), true); break;
        case DataType.BFLOAT16: view.setUint16(i * 2, numberToBfloat16(v), true); break;
        case DataType.INT8: view.setInt8(i, v); break;
        case DataType.UINT8: view.setUint8(i, v); break;
        case DataType.BOOL: view.setUint8(i, v ? 1 : 0); break;
        case DataType.INT16: view.setInt16(i * 2, v, true); break;
        case DataType.UINT16: view.setUint16(i * 2, v, true); break;
        case DataType.INT32: view.setInt32(i * 4, v, true); break;
        case DataType.UINT32: view.setUint32(i * 4, v, true); break;
        case DataType.INT64: view.setBigInt64(i * 8, BigInt(Math.trunc(v)), true); break;
        case DataType.UINT64: view.setBigUint64(i * 8, BigInt(Math.trunc(v)), true); break;
        default: throw new TypeError(`Cannot build a ${dataTypeName(dtype)} tensor from numbers`);
      }
    }
    return new Tensor({ name, dtype, dims, data: bytes });
  }
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

function checkCount(name: string, dims: readonly number[], count: number): void {
  if (sizeOf(dims) !== count) {
    throw new RangeError(`Expected ${sizeOf(dims)} values for tensor '${name}' of shape [${dims.join(', ')}] but received ${count}`);
  }
}
