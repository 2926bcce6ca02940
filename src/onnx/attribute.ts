/**
 * AttributeProto <-> Attribute. The `type` field is an enum (FLOAT = 1, INT = 2, ...); old models sometimes
 * leave it unset, then the type comes from the field that holds a value.
 */
import type { Graph } from '../ir/graph.js';
import type { Attribute, AttributeType } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import { OnnxError } from './errors.js';
import { create, longToBigInt, bigIntToLong, unknownFieldsOf, withUnknownFields, type AttributeProto, type GraphProto, type LongLike, type TensorProto } from './proto.js';

const TYPE_NUMBERS: Record<AttributeType, number> = {
  undefined: 0,
  float: 1,
  int: 2,
  string: 3,
  tensor: 4,
  graph: 5,
  floats: 6,
  ints: 7,
  strings: 8,
  tensors: 9,
  graphs: 10,
  sparse_tensor: 11,
  sparse_tensors: 12,
  type_proto: 13,
  type_protos: 14,
};
const TYPE_NAMES = Object.fromEntries(Object.entries(TYPE_NUMBERS).map(([k, v]) => [v, k])) as Record<number, AttributeType>;

/** How attribute tensors and subgraphs are read (the graph decoder supplies this). */
export interface AttributeDecoder {
  decodeTensor(proto: TensorProto, what: string): Tensor;
  decodeGraph(proto: GraphProto): Graph;
}

/** How attribute tensors and subgraphs are written (the graph encoder supplies this). */
export interface AttributeEncoder {
  encodeTensor(tensor: Tensor): TensorProto;
  encodeGraph(graph: Graph): GraphProto;
}

function inferType(p: AttributeProto): AttributeType {
  if (p.floats?.length) return 'floats';
  if (p.ints?.length) return 'ints';
  if (p.strings?.length) return 'strings';
  if (p.tensors?.length) return 'tensors';
  if (p.graphs?.length) return 'graphs';
  if (p.sparseTensors?.length) return 'sparse_tensors';
  if (p.typeProtos?.length) return 'type_protos';
  const own = (k: string): boolean => Object.prototype.hasOwnProperty.call(p, k);
  if (own('f')) return 'float';
  if (own('i')) return 'int';
  if (own('s')) return 'string';
  if (own('t')) return 'tensor';
  if (own('g')) return 'graph';
  if (own('sparseTensor')) return 'sparse_tensor';
  if (own('tp')) return 'type_proto';
  return 'undefined';
}

export function decodeAttribute(p: AttributeProto, nodeLabel: string, nodeId: string, codec: AttributeDecoder): Attribute {
  const name = p.name ?? '';
  let type: AttributeType;
  const typeAbsent = p.type === undefined || p.type === null || p.type === 0;
  if (typeAbsent) type = inferType(p);
  else {
    type = TYPE_NAMES[p.type as number];
    if (type === undefined) throw new OnnxError(`Attribute '${name}' of node ${nodeLabel} has unknown type ${p.type}`, { node: nodeId });
  }
  const what = `Tensor of attribute '${name}' of node ${nodeLabel}`;
  let a: Attribute;
  switch (type) {
    case 'float': a = { name, type, value: p.f ?? 0 }; break;
    case 'int': a = { name, type, value: longToBigInt(p.i as LongLike | number | undefined) }; break;
    case 'string': a = { name, type, value: p.s ?? new Uint8Array(0) }; break;
    case 'tensor':
      if (!p.t) throw new OnnxError(`Attribute '${name}' of node ${nodeLabel} is a tensor attribute without a tensor`, { node: nodeId });
      a = { name, type, value: codec.decodeTensor(p.t, what) };
      break;
    case 'graph':
      if (!p.g) throw new OnnxError(`Attribute '${name}' of node ${nodeLabel} is a graph attribute without a graph`, { node: nodeId });
      a = { name, type, value: codec.decodeGraph(p.g) };
      break;
    case 'floats': a = { name, type, value: [...(p.floats ?? [])] }; break;
    case 'ints': a = { name, type, value: (p.ints ?? []).map((v) => longToBigInt(v as LongLike | number)) }; break;
    case 'strings': a = { name, type, value: [...(p.strings ?? [])] }; break;
    case 'tensors': a = { name, type, value: (p.tensors ?? []).map((t) => codec.decodeTensor(t, what)) }; break;
    case 'graphs': a = { name, type, value: (p.graphs ?? []).map((g) => codec.decodeGraph(g)) }; break;
    case 'sparse_tensor': a = { name, type, value: p.sparseTensor }; break;
    case 'sparse_tensors': a = { name, type, value: p.sparseTensors }; break;
    case 'type_proto': a = { name, type, value: p.tp }; break;
    case 'type_protos': a = { name, type, value: p.typeProtos }; break;
    default: a = { name, type: 'undefined', value: undefined };
  }
  if (p.docString) a.docString = p.docString;
  if (p.refAttrName) a.refAttrName = p.refAttrName;
  const unknown = unknownFieldsOf(p);
  if (unknown || typeAbsent) a.extras = { unknown, typeAbsent };
  return a;
}

export function encodeAttribute(a: Attribute, codec: AttributeEncoder): AttributeProto {
  const props: Record<string, unknown> = { name: a.name };
  if (!a.extras?.typeAbsent) props.type = TYPE_NUMBERS[a.type];
  if (a.refAttrName !== undefined) props.refAttrName = a.refAttrName;
  if (a.docString !== undefined) props.docString = a.docString;
  switch (a.type) {
    case 'float': props.f = a.value; break;
    case 'int': props.i = bigIntToLong(a.value); break;
    case 'string': props.s = a.value; break;
    case 'tensor': props.t = codec.encodeTensor(a.value); break;
    case 'graph': props.g = codec.encodeGraph(a.value); break;
    case 'floats': props.floats = a.value; break;
    case 'ints': props.ints = a.value.map((v) => bigIntToLong(v)); break;
    case 'strings': props.strings = a.value; break;
    case 'tensors': props.tensors = a.value.map((t) => codec.encodeTensor(t)); break;
    case 'graphs': props.graphs = a.value.map((g) => codec.encodeGraph(g)); break;
    case 'sparse_tensor': if (a.value) props.sparseTensor = a.value; break;
    case 'sparse_tensors': props.sparseTensors = a.value; break;
    case 'type_proto': if (a.value) props.tp = a.value; break;
    case 'type_protos': props.typeProtos = a.value; break;
    default: break;
  }
  return withUnknownFields(create('AttributeProto', props) as AttributeProto, a.extras?.unknown);
}
