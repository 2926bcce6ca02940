/**
 * ModelProto -> Model. Structural problems that the IR cannot represent (a value produced twice, a tensor
 * whose bytes do not match its dims) throw an OnnxError here; the rest is the verifier's job.
 */
import { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { tensorType, type Dim, type ValueType } from '../ir/value.js';
import { decodeAttribute, type AttributeDecoder } from './attribute.js';
import { OnnxError } from './errors.js';
import type { ExternalDataReader } from './external-data.js';
import { longToBigInt, longToSafeNumber, unknownFieldsOf, type GraphProto, type LongLike, type ModelProto, type TypeProto, type ValueInfoProto } from './proto.js';
import { decodeTensor } from './tensor-proto.js';

/** Largest number a dim_value may declare. */
const MAX_DIM = 2 ** 40;
/** Subgraph nesting deeper than this is refused (a hostile file could otherwise exhaust the stack). */
const MAX_DEPTH = 64;

export interface DecodeOptions {
  external?: ExternalDataReader;
}

export function decodeModel(proto: ModelProto, options: DecodeOptions = {}): Model {
  if (!proto.graph) throw new OnnxError('Not an ONNX model: the ModelProto has no graph');
  const irVersion = longToSafeNumber(proto.irVersion as LongLike | number | undefined);
  if (irVersion === null || irVersion <= 0 || irVersion > 100) {
    throw new OnnxError(`Not an ONNX model: ir_version ${irVersion === null ? 'is out of range' : irVersion === 0 ? 'is missing' : `${irVersion} is invalid`}`);
  }
  const decoder = new GraphDecoder(options.external);
  const graph = decoder.graph(proto.graph, undefined, 0);
  const model = new Model(graph);
  model.irVersion = irVersion;
  model.opsetImports = (proto.opsetImport ?? []).map((o) => {
    const version = longToSafeNumber(o.version as LongLike | number | undefined);
    if (version === null || version < 0) throw new OnnxError(`Opset import for domain '${o.domain ?? ''}' has an invalid version`);
    return { domain: o.domain ?? '', version };
  });
  if (irVersion >= 3 && model.opsetImports.length === 0) throw new OnnxError('Not an ONNX model: no opset_import (required from IR version 3)');
  model.extras.opsetUnknown = (proto.opsetImport ?? []).map((o) => unknownFieldsOf(o));
  model.producerName = proto.producerName || undefined;
  model.producerVersion = proto.producerVersion || undefined;
  model.domain = proto.domain || undefined;
  model.modelVersion = proto.modelVersion !== undefined && proto.modelVersion !== null && Object.prototype.hasOwnProperty.call(proto, 'modelVersion') ? longToBigInt(proto.modelVersion as LongLike | number) : undefined;
  model.docString = proto.docString || undefined;
  model.metadata = (proto.metadataProps ?? []).map((e) => [e.key ?? '', e.value ?? '']);
  model.functions = proto.functions ?? [];
  if (proto.trainingInfo?.length) model.extras.trainingInfo = proto.trainingInfo;
  model.extras.unknown = unknownFieldsOf(proto);
  return model;
}

class GraphDecoder implements AttributeDecoder {
  private depth = 0;
  private current: Node | undefined;

  constructor(private readonly external: ExternalDataReader | undefined) {}

  decodeTensor(proto: Parameters<AttributeDecoder['decodeTensor']>[0], what: string) {
    return decodeTensor(proto, { external: this.external, what });
  }

  decodeGraph(proto: GraphProto): Graph {
    return this.graph(proto, this.current, this.depth + 1);
  }

  graph(proto: GraphProto, parentNode: Node | undefined, depth: number): Graph {
    if (depth > MAX_DEPTH) throw new OnnxError(`Subgraphs are nested more than ${MAX_DEPTH} deep`, { node: parentNode?.id });
    const savedDepth = this.depth;
    const savedNode = this.current;
    this.depth = depth;
    const g = new Graph(proto.name ?? '');
    g.parentNode = parentNode;
    g.docString = proto.docString || undefined;
    g.extras.unknown = unknownFieldsOf(proto);
    if (proto.sparseInitializer?.length) g.extras.sparseInitializer = proto.sparseInitializer;
    if (proto.quantizationAnnotation?.length) g.extras.quantizationAnnotation = proto.quantizationAnnotation;
    const where = parentNode ? `subgraph '${proto.name ?? ''}' of node ${parentNode.label}` : 'graph';

    // 1. Values defined here: inputs, initializers, node outputs.
    for (const vi of proto.input ?? []) {
      const name = vi.name ?? '';
      if (name === '') throw new OnnxError(`An input of the ${where} has no name`);
      if (g.values.has(name)) throw new OnnxError(`Duplicate graph input '${name}' in the ${where}`, { tensor: name });
      const v = g.localValue(name);
      this.applyValueInfo(v, vi, where);
      g.inputs.push(v);
    }
    for (const tp of proto.initializer ?? []) {
      const name = tp.name ?? '';
      if (name === '') throw new OnnxError(`An initializer of the ${where} has no name`);
      let v = g.values.get(name);
      if (v?.initializer) throw new OnnxError(`Duplicate initializer '${name}' in the ${where}`, { tensor: name });
      v ??= g.localValue(name);
      v.initializer = decodeTensor(tp, { external: this.external, what: 'Initializer' });
      g.initializers.push(v);
    }
    const nodes: Node[] = [];
    for (const np of proto.node ?? []) {
      const node = new Node(g, np.opType ?? '', np.name ?? '', np.domain ?? '');
      g.nodes.push(node);
      nodes.push(node);
      node.docString = np.docString || undefined;
      node.extras.unknown = unknownFieldsOf(np);
      if (node.opType === '') throw new OnnxError(`Node ${node.label} in the ${where} has no op_type`, { node: node.id });
      for (const out of np.output ?? []) {
        if (out === '') {
          node.outputs.push(null);
          continue;
        }
        const existing = g.values.get(out);
        if (existing?.producer) {
          throw new OnnxError(`Value '${out}' is produced by two nodes: ${existing.producer.label} and ${node.label}`, { node: node.id, tensor: out });
        }
        if (existing && (existing.initializer || g.inputs.includes(existing))) {
          throw new OnnxError(`Node ${node.label} produces '${out}', which is already a graph input or initializer`, { node: node.id, tensor: out });
        }
        const v = existing ?? g.localValue(out);
        v.producer = node;
        node.outputs.push(v);
      }
    }
    for (const vi of proto.valueInfo ?? []) {
      const name = vi.name ?? '';
      const v = g.values.get(name) ?? g.value(name);
      this.applyValueInfo(v, vi, where);
      g.valueInfo.push(v);
    }
    for (const vi of proto.output ?? []) {
      const name = vi.name ?? '';
      const v = g.lookup(name) ?? g.value(name);
      this.applyValueInfo(v, vi, where, true);
      g.outputs.push(v);
    }

    // 2. Attributes (subgraphs see every value above) and inputs.
    proto.node?.forEach((np, i) => {
      const node = nodes[i];
      this.current = node;
      this.depth = depth;
      for (const ap of np.attribute ?? []) {
        const a = decodeAttribute(ap, node.label, node.id, this);
        if (node.attributes.has(a.name)) throw new OnnxError(`Node ${node.label} has attribute '${a.name}' twice`, { node: node.id });
        node.setAttr(a);
      }
      for (const name of np.input ?? []) {
        const v = name === '' ? null : (g.lookup(name) ?? g.value(name));
        node.inputs.push(v);
        v?.consumers.push(node);
      }
    });
    this.depth = savedDepth;
    this.current = savedNode;
    return g;
  }

  private applyValueInfo(v: ReturnType<Graph['value']>, vi: ValueInfoProto, where: string, isOutput = false): void {
    if (vi.type) {
      const type = decodeType(vi.type, vi.name ?? '', where);
      // Graph outputs of subgraphs may repeat an outer value's name; keep the first type seen.
      if (!(isOutput && v.type)) {
        v.type = type;
        v.extras.typeSource = { type, proto: vi.type };
      }
    }
    if (vi.docString) v.docString = vi.docString;
    const unknown = unknownFieldsOf(vi);
    if (unknown) v.extras.valueInfoUnknown = unknown;
  }
}

export function decodeType(proto: TypeProto, name: string, where = 'graph'): ValueType {
  const t = proto.tensorType;
  if (!t) return { kind: 'opaque', proto };
  let shape: Dim[] | undefined;
  if (t.shape) {
    shape = (t.shape.dim ?? []).map((d) => {
      if (d.dimParam) return d.dimParam;
      if (d.dimValue !== undefined && d.dimValue !== null && Object.prototype.hasOwnProperty.call(d, 'dimValue')) {
        // Negative sizes mean "unknown" to some exporters (-1), whatever their magnitude.
        if (longToBigInt(d.dimValue as LongLike) < 0n) return null;
        const n = longToSafeNumber(d.dimValue as LongLike | number);
        if (n === null || n > MAX_DIM) throw new OnnxError(`Value '${name}' in the ${where} declares dimension ${longToBigInt(d.dimValue as LongLike)}, more than the ${MAX_DIM} allowed`, { tensor: name });
        if (n < 0) return null;
        return n;
      }
      return null;
    });
  }
  return tensorType(t.elemType ?? 0, shape);
}
