/**
 * Model: the main graph plus what ModelProto carries around it (IR version, opset imports, metadata,
 * functions, training info), kept as read so that saving is lossless.
 */
import type { FunctionProto } from '../onnx/proto.js';
import { Graph } from './graph.js';

export interface OpsetImport {
  domain: string;
  version: number;
}

export class Model {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string | undefined;
  producerVersion: string | undefined;
  domain: string | undefined;
  modelVersion: bigint | undefined;
  docString: string | undefined;
  /** metadata_props, in file order. */
  metadata: [string, string][];
  graph: Graph;
  /** Model-local functions, kept intact as protobuf messages. */
  functions: FunctionProto[];
  /** @internal */
  extras: { unknown?: Uint8Array[]; trainingInfo?: unknown[]; presence?: Record<string, boolean>; opsetUnknown?: (Uint8Array[] | undefined)[] } = {};
  /** The folder the model was loaded from (for external data), if any. */
  baseDir: string | undefined = undefined;

  constructor(graph = new Graph('main')) {
    this.irVersion = 8;
    this.opsetImports = [{ domain: '', version: 13 }];
    this.producerName = 'octet';
    this.producerVersion = undefined;
    this.domain = undefined;
    this.modelVersion = undefined;
    this.docString = undefined;
    this.metadata = [];
    this.graph = graph;
    this.functions = [];
    graph.model = this;
  }

  /** Opset version imported for a domain ('' and 'ai.onnx' are the same), or undefined. */
  opsetVersion(domain = ''): number | undefined {
    const d = domain === 'ai.onnx' ? '' : domain;
    return this.opsetImports.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === d)?.version;
  }

  setOpsetVersion(domain: string, version: number): void {
    const d = domain === 'ai.onnx' ? '' : domain;
    const entry = this.opsetImports.find((o) => (o.domain === 'ai.onnx' ? '' : o.domain) === d);
    if (entry) entry.version = version;
    else this.opsetImports.push({ domain, version });
  }
}
