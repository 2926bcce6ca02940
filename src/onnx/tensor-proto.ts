/**
 * TensorProto <-> Tensor. Values may come as raw_data or in the typed repeated fields (float_data, int32_data,
 * ...), or from an external file; the IR always holds little-endian raw bytes. Saving writes raw_data.
 */
import { Tensor, sizeOf, type ExternalDataInfo } from '../ir/tensor.js';
import { byteLengthOf, DataType, dataTypeName, isKnownDataType, typedFieldOf } from './dtype.js';
import { OnnxError } from './errors.js';
import type { ExternalDataReader } from './external-data.js';
import { bigIntToLong, create, longToBigInt, longToSafeNumber, unknownFieldsOf, withUnknownFields, type LongLike, type TensorProto } from './proto.js';

/** Largest element count a tensor may declare (2^40): more is a corrupt or hostile file, not a model. */
export const MAX_ELEMENTS = 2 ** 40;

export function decodeDims(raw: readonly (number | LongLike)[] | null | undefined, what: string, tensor: string): number[] {
  const dims: number[] = [];
  for (const d of raw ?? []) {
    const n = longToSafeNumber(d as number | LongLike);
    if (n === null || n < 0) throw new OnnxError(`${what} '${tensor}' has an invalid dimension ${longToBigInt(d as LongLike)}`, { tensor });
    dims.push(n);
  }
  if (sizeOf(dims) > MAX_ELEMENTS) {
    throw new OnnxError(`${what} '${tensor}' declares dims [${dims.join(', ')}] (${sizeOf(dims)} elements), more than the ${MAX_ELEMENTS} allowed`, { tensor });
  }
  return dims;
}

export interface DecodeTensorOptions {
  external?: ExternalDataReader;
  /** Where the tensor sits, for messages: `initializer`, `attribute 'value' of node 'x'`. */
  what?: string;
}

export function decodeTensor(proto: TensorProto, options: DecodeTensorOptions = {}): Tensor {
  const name = proto.name ?? '';
  const what = options.what ?? 'Tensor';
  const dtype = proto.dataType ?? 0;
  const dims = decodeDims(proto.dims, what, name);
  const count = sizeOf(dims);
  const tensor = new Tensor({ name, dtype, dims, data: new Uint8Array(0), docString: proto.docString ?? undefined });
  tensor.extras.unknown = unknownFieldsOf(proto);
  if (proto.segment) tensor.extras.segment = proto.segment;

  if (!isKnownDataType(dtype) || dtype === DataType.UNDEFINED) {
    throw new OnnxError(`${what} '${name}' has unsupported data type ${dtype}`, { tensor: name });
  }
  if (dtype === DataType.STRING) {
    const strings = proto.stringData ?? [];
    if (strings.length !== count) {
      throw new OnnxError(`${what} '${name}' declares ${count} elements but holds ${strings.length} strings`, { tensor: name });
    }
    tensor.strings = strings.map((s) => (s instanceof Uint8Array ? s : new Uint8Array(s)));
    return tensor;
  }
  const byteLength = byteLengthOf(dtype, count);

  if (proto.dataLocation === 1) {
    const info = externalInfo(proto, name);
    tensor.external = info;
    if (!options.external) throw new OnnxError(`${what} '${name}' has external data but no model folder is known`, { tensor: name });
    tensor.data = options.external.read(info, name, byteLength);
    return tensor;
  }

  if (proto.rawData && proto.rawData.length > 0) {
    if (proto.rawData.length !== byteLength) {
      throw new OnnxError(`${what} '${name}' of type ${dataTypeName(dtype)} and dims [${dims.join(', ')}] needs ${byteLength} bytes but raw_data has ${proto.rawData.length}`, { tensor: name });
    }
    tensor.data = proto.rawData;
    return tensor;
  }
  tensor.data = fromTypedField(proto, dtype, count, byteLength, what, name);
  return tensor;
}

function fromTypedField(proto: TensorProto, dtype: number, count: number, byteLength: number, what: string, name: string): Uint8Array {
  const field = typedFieldOf(dtype)!;
  const values = (proto[field] ?? []) as unknown[];
  const packed4 = dtype === DataType.INT4 || dtype === DataType.UINT4 || dtype === DataType.FLOAT4E2M1;
  const perElement = dtype === DataType.COMPLEX64 || dtype === DataType.COMPLEX128 ? 2 : 1;
  const expected = packed4 ? byteLength : count * perElement;
  if (values.length !== expected) {
    throw new OnnxError(`${what} '${name}' declares ${count} elements of type ${dataTypeName(dtype)} but holds ${values.length} values in ${snake(field)} and no raw_data`, { tensor: name });
  }
  const bytes = new Uint8Array(byteLength);
  const view = new DataView(bytes.buffer);
  const n = values.length;
  switch (dtype) {
    case DataType.FLOAT:
    case DataType.COMPLEX64:
      for (let i = 0; i < n; i++) view.setFloat32(i * 4, values[i] as number, true);
      break;
    case DataType.DOUBLE:
    case DataType.COMPLEX128:
      for (let i = 0; i < n; i++) view.setFloat64(i * 8, values[i] as number, true);
      break;
    case DataType.INT32:
      for (let i = 0; i < n; i++) view.setInt32(i * 4, values[i] as number, true);
      break;
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.FLOAT16:
    case DataType.BFLOAT16:
      for (let i = 0; i < n; i++) view.setUint16(i * 2, (values[i] as number) & 0xffff, true);
      break;
    case DataType.INT64:
      for (let i = 0; i < n; i++) view.setBigInt64(i * 8, longToBigInt(values[i] as LongLike), true);
      break;
    case DataType.UINT32:
      for (let i = 0; i < n; i++) view.setUint32(i * 4, Number(BigInt.asUintN(32, longToBigInt(values[i] as LongLike, true))), true);
      break;
    case DataType.UINT64:
      for (let i = 0; i < n; i++) view.setBigUint64(i * 8, longToBigInt(values[i] as LongLike, true), true);
      break;
    default: // 8-bit and packed 4-bit types: one (packed) byte per int32
      for (let i = 0; i < n; i++) bytes[i] = (values[i] as number) & 0xff;
  }
  return bytes;
}

function snake(field: string): string {
  return field.replace(/[A-Z0-9]+/g, (m) => `_${m.toLowerCase()}`);
}

function externalInfo(proto: TensorProto, name: string): ExternalDataInfo {
  let location: string | undefined;
  let offset = 0;
  let length: number | undefined;
  let checksum: string | undefined;
  const extra: [string, string][] = [];
  for (const entry of proto.externalData ?? []) {
    const key = entry.key ?? '';
    const value = entry.value ?? '';
    if (key === 'location') location = value;
    else if (key === 'offset' || key === 'length') {
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
        throw new OnnxError(`External data ${key} '${value}' of tensor '${name}' is not a non-negative integer`, { tensor: name });
      }
      if (key === 'offset') offset = Number(value);
      else length = Number(value);
    } else if (key === 'checksum') checksum = value;
    else extra.push([key, value]);
  }
  if (location === undefined) throw new OnnxError(`Tensor '${name}' has data_location EXTERNAL but no 'location' entry`, { tensor: name });
  const info: ExternalDataInfo = { location, offset, length };
  if (checksum !== undefined) info.checksum = checksum;
  if (extra.length > 0) info.extra = extra;
  return info;
}

export interface EncodeTensorOptions {
  /** Called for tensors to store outside the model file; returns where they went. */
  externalize?: (tensor: Tensor) => ExternalDataInfo | undefined;
}

export function encodeTensor(tensor: Tensor, options: EncodeTensorOptions = {}): TensorProto {
  const props: Record<string, unknown> = {
    dims: tensor.dims.map((d) => bigIntToLong(d)),
    dataType: tensor.dtype,
  };
  if (tensor.extras.segment) props.segment = tensor.extras.segment;
  if (tensor.name !== '') props.name = tensor.name;
  if (tensor.docString !== undefined) props.docString = tensor.docString;
  if (tensor.dtype === DataType.STRING) {
    props.stringData = tensor.strings;
  } else {
    const ext = options.externalize?.(tensor);
    if (ext) {
      const entries = [
        { key: 'location', value: ext.location },
        { key: 'offset', value: String(ext.offset) },
        { key: 'length', value: String(ext.length ?? tensor.data.length) },
      ];
      if (ext.checksum !== undefined) entries.push({ key: 'checksum', value: ext.checksum });
      for (const [key, value] of ext.extra ?? []) entries.push({ key, value });
      props.externalData = entries.map((e) => create('StringStringEntryProto', e));
      props.dataLocation = 1;
    } else if (tensor.data.length > 0) {
      props.rawData = tensor.data;
    }
  }
  return withUnknownFields(create('TensorProto', props) as TensorProto, tensor.extras.unknown);
}
