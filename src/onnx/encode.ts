/**
 * Model -> ModelProto. Tensors are written as raw_data (or to an external file when asked); types that were
 * read and not changed since are written back exactly as read.
 */
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value, ValueType } from '../ir/value.js';
import { encodeAttribute, type AttributeEncoder } from './attribute.js';
import { create, bigIntToLong, withUnknownFields, type GraphProto, type ModelProto, type TensorProto, type TypeProto, type ValueInfoProto } from './proto.js';
import { encodeTensor, type EncodeTensorOptions } from './tensor-proto.js';

export function encodeModel(model: Model, options: EncodeTensorOptions = {}): ModelProto {
  const encoder = new GraphEncoder(options);
  const props: Record<string, unknown> = {
    irVersion: bigIntToLong(model.irVersion),
    opsetImport: model.opsetImports.map((o, i) =>
      withUnknownFields(create('OperatorSetIdProto', { domain: o.domain, version: bigIntToLong(o.version) }), model.extras.opsetUnknown?.[i]),
    ),
    graph: encoder.encodeGraph(model.graph),
  };
  if (model.producerName !== undefined) props.producerName = model.producerName;
  if (model.producerVersion !== undefined) props.producerVersion = model.producerVersion;
  if (model.domain !== undefined) props.domain = model.domain;
  if (model.modelVersion !== undefined) props.modelVersion = bigIntToLong(model.modelVersion);
  if (model.docString !== undefined) props.docString = model.docString;
  if (model.metadata.length > 0) props.metadataProps = model.metadata.map(([key, value]) => create('StringStringEntryProto', { key, value }));
  if (model.extras.trainingInfo) props.trainingInfo = model.extras.trainingInfo;
  if (model.functions.length > 0) props.functions = model.functions;
  return withUnknownFields(create('ModelProto', props) as ModelProto, model.extras.unknown);
}

class GraphEncoder implements AttributeEncoder {
  constructor(private readonly options: EncodeTensorOptions) {}

  encodeTensor(tensor: Tensor): TensorProto {
    return encodeTensor(tensor, this.options);
  }

  encodeGraph(g: Graph): GraphProto {
    const written = new Set<Value>([...g.inputs, ...g.outputs]);
    const valueInfo: ValueInfoProto[] = [];
    for (const v of g.valueInfo) {
      if (g.values.get(v.name) !== v || written.has(v)) continue;
      written.add(v);
      valueInfo.push(encodeValueInfo(v));
    }
    for (const v of g.values.values()) {
      if (written.has(v) || !v.type || v.initializer) continue;
      written.add(v);
      valueInfo.push(encodeValueInfo(v));
    }
    const props: Record<string, unknown> = {
      node: g.nodes.map((n) =>
        withUnknownFields(
          create('NodeProto', {
            input: n.inputs.map((v) => v?.name ?? ''),
            output: n.outputs.map((v) => v?.name ?? ''),
            ...(n.name !== '' ? { name: n.name } : {}),
            opType: n.opType,
            ...(n.domain !== '' ? { domain: n.domain } : {}),
            attribute: [...n.attributes.values()].map((a) => encodeAttribute(a, this)),
            ...(n.docString !== undefined ? { docString: n.docString } : {}),
          }),
          n.extras.unknown,
        ),
      ),
      name: g.name,
      initializer: g.initializers.map((v) => {
        const t = v.initializer!;
        t.name = v.name;
        return encodeTensor(t, this.options);
      }),
      input: g.inputs.map(encodeValueInfo),
      output: g.outputs.map(encodeValueInfo),
      valueInfo,
    };
    if (g.docString !== undefined) props.docString = g.docString;
    if (g.extras.sparseInitializer) props.sparseInitializer = g.extras.sparseInitializer;
    if (g.extras.quantizationAnnotation) props.quantizationAnnotation = g.extras.quantizationAnnotation;
    return withUnknownFields(create('GraphProto', props) as GraphProto, g.extras.unknown);
  }
}

function encodeValueInfo(v: Value): ValueInfoProto {
  const props: Record<string, unknown> = { name: v.name };
  if (v.type) props.type = encodeType(v);
  if (v.docString !== undefined) props.docString = v.docString;
  return withUnknownFields(create('ValueInfoProto', props) as ValueInfoProto, v.extras.valueInfoUnknown);
}

function encodeType(v: Value): TypeProto {
  const type = v.type as ValueType;
  if (v.extras.typeSource?.type === type) return v.extras.typeSource.proto;
  if (type.kind === 'opaque') return type.proto;
  const tensor: Record<string, unknown> = { elemType: type.elemType };
  if (type.shape) {
    tensor.shape = create('TensorShapeProto', {
      dim: type.shape.map((d) =>
        create('TensorShapeProto.Dimension', typeof d === 'number' ? { dimValue: bigIntToLong(d) } : typeof d === 'string' ? { dimParam: d } : {}),
      ),
    });
  }
  return create('TypeProto', { tensorType: create('TypeProto.Tensor', tensor) }) as TypeProto;
}
