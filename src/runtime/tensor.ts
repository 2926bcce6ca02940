/**
 * Tensor: a typed array with a dtype and dims, shaped like onnxruntime's so code moves over unchanged:
 * `new Tensor('float32', data, [1, 3, 224, 224])`, `t.type`, `t.data`, `t.dims`, `t.size`.
 */
import { invalidParameterError } from '../errors.js';

export type TensorType = 'float32' | 'int8' | 'uint8' | 'int32' | 'int64' | 'bool';

export interface TensorDataTypeMap {
  float32: Float32Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
}

export type TensorData = TensorDataTypeMap[TensorType];

const CONSTRUCTORS = {
  float32: Float32Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
} as const;

export const TENSOR_TYPES = Object.keys(CONSTRUCTORS) as TensorType[];

/** Element count of a shape; throws naming `name` when a dim is not a non-negative safe integer. */
export function shapeSize(dims: readonly number[], name = 'dims'): number {
  let size = 1;
  dims.forEach((d, i) => {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw invalidParameterError(`${name}[${i}]`, 'non-negative integer', d, typeof d === 'number');
    }
    size *= d;
  });
  if (!Number.isSafeInteger(size)) throw invalidParameterError(name, 'a shape with at most 2^53 elements', dims, true);
  return size;
}

export class Tensor<T extends TensorType = TensorType> {
  readonly type: T;
  readonly data: TensorDataTypeMap[T];
  readonly dims: readonly number[];
  readonly size: number;

  /**
   * `new Tensor(type, data, dims?)`; dims default to `[data.length]`. A plain number[] (or bigint[] for
   * int64, boolean[] for bool) is converted to the type's typed array.
   */
  constructor(type: T, data: TensorDataTypeMap[T] | readonly number[] | readonly bigint[] | readonly boolean[], dims?: readonly number[]) {
    if (typeof type !== 'string' || !(type in CONSTRUCTORS)) {
      throw invalidParameterError('type', `one of ${TENSOR_TYPES.map((t) => `'${t}'`).join(', ')}`, type, typeof type === 'string');
    }
    const Ctor = CONSTRUCTORS[type];
    let typed: TensorDataTypeMap[T];
    if (Array.isArray(data)) {
      typed = (type === 'int64'
        ? BigInt64Array.from(data as (bigint | number)[], (v) => BigInt(v))
        : type === 'bool'
          ? Uint8Array.from(data as (boolean | number)[], (v) => (v ? 1 : 0))
          : (Ctor as Float32ArrayConstructor).from(data as number[])) as TensorDataTypeMap[T];
    } else if (data instanceof Ctor) {
      typed = data as TensorDataTypeMap[T];
    } else {
      throw invalidParameterError('data', `${Ctor.name} or Array for a ${type} tensor`, data);
    }
    const shape = dims === undefined ? [typed.length] : dims;
    if (!Array.isArray(shape)) throw invalidParameterError('dims', 'Array of integers', dims);
    const size = shapeSize(shape);
    if (size !== typed.length) {
      throw invalidParameterError('data', `${Ctor.name} of length ${size} (the product of dims [${shape.join(', ')}])`, typed, true);
    }
    this.type = type;
    this.data = typed;
    this.dims = Object.freeze([...shape]);
    this.size = size;
  }

  /** A new tensor with the same data and other dims of the same size. */
  reshape(dims: readonly number[]): Tensor<T> {
    return new Tensor(this.type, this.data, dims);
  }
}
