// Fuzz cases for the loader and InferenceSession.create: deterministic from (seed, index).
//
// A case is one source model (a real model from test/.fixtures/models or a node model of the ONNX backend test
// suite) and one to three mutations: byte-level (bit flips, truncation, overwritten runs, inserted junk,
// duplicated slices, varint bombs) or structural on the decoded ModelProto (huge, negative and zero dims, raw
// data shorter or longer than the dims say, data type swaps, field swaps between nodes/tensors/values, attribute
// extremes, cycles, opset and IR version changes, dropped or duplicated nodes, graph I/O damage, deep nesting of
// subgraphs) or external data (a tensor moved to a file beside the model: valid, or a location that escapes the
// model's folder through `..`, an absolute path, a symlink to a file or a folder outside, /dev and /proc, or
// names a folder, a FIFO, a missing file, bytes past the end).
//
// A case that points external data outside its folder carries `mustRefuse`: the sentinel file outside holds
// exactly the bytes the tensor needs, so reading it would give a valid model; only a refusal passes.
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { onnx } = require('onnx-proto');
const Long = createRequire(require.resolve('onnx-proto'))('protobufjs/minimal').util.Long;

export const ROOT = join(import.meta.dirname, '..', '..');
export const MODELS_DIR = join(ROOT, 'test', '.fixtures', 'models');
export const NODE_TESTS_DIR = '/usr/share/libonnx-testdata/data/node';

/** The real models mutated (small ones: creation takes well under a second), with inputs that fit them. */
export const REAL_SOURCES = [
  { name: 'ppocr_cls', weight: 4, shapes: { x: [1, 3, 48, 192] } },
  { name: 'blazeface_front', weight: 4, shapes: {} },
  { name: 'silero_vad_op18_ifless', weight: 3, shapes: { input: [1, 512], state: [2, 1, 128] }, scalars: { sr: 16000n } },
  { name: 'silero_vad_v5', weight: 1, shapes: { input: [1, 512], state: [2, 1, 128] }, scalars: { sr: 16000n } },
];

// ---- deterministic randomness ----------------------------------------------------------------------------

function hash32(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h >>> 0;
}

/** mulberry32 seeded by (seed, index): the same case on every machine and every run. */
export function caseRng(seed, index) {
  let a = hash32(`${seed}:${index}`);
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  const pick = (list) => list[int(list.length)];
  const weighted = (entries) => {
    const total = entries.reduce((s, [w]) => s + w, 0);
    let r = next() * total;
    for (const [w, v] of entries) if ((r -= w) < 0) return v;
    return entries[entries.length - 1][1];
  };
  return { next, int, pick, weighted };
}

// ---- sources ---------------------------------------------------------------------------------------------

let nodeCases;
/** Names of the backend test suite's node cases (sorted, so an index means the same case everywhere). */
export function nodeSources() {
  if (nodeCases === undefined) {
    nodeCases = existsSync(NODE_TESTS_DIR)
      ? readdirSync(NODE_TESTS_DIR).filter((d) => existsSync(join(NODE_TESTS_DIR, d, 'model.onnx'))).sort()
      : [];
  }
  return nodeCases;
}

const byteCache = new Map();
function readCached(path) {
  let b = byteCache.get(path);
  if (!b) {
    b = new Uint8Array(readFileSync(path));
    byteCache.set(path, b);
  }
  return b;
}

function pickSource(r, corpus) {
  const real = corpus.includes('real') ? REAL_SOURCES.filter((s) => existsSync(join(MODELS_DIR, `${s.name}.onnx`))) : [];
  const nodes = corpus.includes('node') ? nodeSources() : [];
  const useNode = nodes.length > 0 && (real.length === 0 || r.next() < 0.5);
  if (useNode) {
    const name = r.pick(nodes);
    return { kind: 'node', name, path: join(NODE_TESTS_DIR, name, 'model.onnx'), dataDir: join(NODE_TESTS_DIR, name, 'test_data_set_0'), shapes: {}, scalars: {} };
  }
  if (real.length === 0) throw new Error(`no fuzz sources: ${MODELS_DIR} and ${NODE_TESTS_DIR} are both missing`);
  const s = r.weighted(real.map((x) => [x.weight, x]));
  return { kind: 'real', name: s.name, path: join(MODELS_DIR, `${s.name}.onnx`), shapes: s.shapes, scalars: s.scalars ?? {} };
}

// ---- ModelProto helpers ----------------------------------------------------------------------------------

/** Every graph of the model: the main graph and the subgraphs in attributes (If, Loop, Scan), depth-first. */
function allGraphs(model) {
  const out = [];
  const visit = (g, depth) => {
    if (!g || depth > 64) return;
    out.push(g);
    for (const n of g.node ?? []) {
      for (const a of n.attribute ?? []) {
        if (a.g) visit(a.g, depth + 1);
        for (const sg of a.graphs ?? []) visit(sg, depth + 1);
      }
    }
  };
  visit(model.graph, 0);
  return out;
}

/** Every TensorProto: initializers and Constant / attribute tensors, with where it sits. */
function allTensors(model) {
  const out = [];
  for (const g of allGraphs(model)) {
    for (const t of g.initializer ?? []) out.push({ t, where: 'initializer' });
    for (const n of g.node ?? []) for (const a of n.attribute ?? []) if (a.t) out.push({ t: a.t, where: `attribute of ${n.opType}` });
  }
  return out;
}

/** Every ValueInfoProto with a tensor shape: graph inputs, outputs and value_info. */
function allValueInfos(model) {
  const out = [];
  for (const g of allGraphs(model)) {
    for (const v of [...(g.input ?? []), ...(g.output ?? []), ...(g.valueInfo ?? [])]) if (v.type?.tensorType) out.push(v);
  }
  return out;
}

function allNodes(model) {
  const out = [];
  for (const g of allGraphs(model)) for (const n of g.node ?? []) out.push({ n, g });
  return out;
}

const HUGE = ['2147483647', '2147483648', '4294967296', '4294967297', '1099511627776', '1099511627777', '9007199254740993', '4611686018427387904', '9223372036854775807'];
const NEGATIVE = ['-1', '-2', '-3', '-2147483648', '-9223372036854775808'];
const long = (s) => Long.fromString(s);

const ELEM_BYTES = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2 };

/** The tensor's payload as little-endian bytes (raw_data, or the typed field re-encoded). */
function tensorBytes(t) {
  if (t.rawData && t.rawData.length > 0) return new Uint8Array(t.rawData);
  const dt = t.dataType;
  if (dt === 1 && t.floatData?.length) return new Uint8Array(Float32Array.from(t.floatData).buffer);
  if (dt === 7 && t.int64Data?.length) return new Uint8Array(BigInt64Array.from(t.int64Data, (v) => BigInt(v.toString())).buffer);
  if (dt === 6 && t.int32Data?.length) return new Uint8Array(Int32Array.from(t.int32Data).buffer);
  return undefined;
}

// ---- mutations -------------------------------------------------------------------------------------------

function setDim(r, model, values, label) {
  const choice = r.int(3);
  const tensors = allTensors(model).filter(({ t }) => (t.dims ?? []).length > 0);
  const infos = allValueInfos(model).filter((v) => (v.type.tensorType.shape?.dim ?? []).length > 0);
  if (choice === 0 && tensors.length > 0) {
    const { t } = r.pick(tensors);
    const i = r.int(t.dims.length);
    const v = r.pick(values);
    t.dims[i] = long(v);
    return `${label} dim ${i} of tensor '${t.name}' := ${v}`;
  }
  if (infos.length === 0) return `${label}: no target`;
  const v = r.pick(infos);
  const dims = v.type.tensorType.shape.dim;
  const i = r.int(dims.length);
  const value = r.pick(values);
  dims[i] = onnx.TensorShapeProto.Dimension.create({ dimValue: long(value) });
  return `${label} dim ${i} of value '${v.name}' := ${value}`;
}

function rawLength(r, model) {
  const tensors = allTensors(model).filter(({ t }) => tensorBytes(t) !== undefined);
  if (tensors.length === 0) return 'raw-length: no target';
  const { t } = r.pick(tensors);
  const bytes = tensorBytes(t);
  const elem = ELEM_BYTES[t.dataType] ?? 1;
  const deltas = [-1, 1, -elem, elem, -Math.floor(bytes.length / 2), 4096, -bytes.length + 1, 7 * elem];
  const d = r.pick(deltas);
  const len = Math.max(0, bytes.length + d);
  const next = new Uint8Array(len);
  next.set(bytes.subarray(0, Math.min(len, bytes.length)));
  for (const f of ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data']) t[f] = [];
  t.rawData = next;
  return `raw_data of '${t.name}' (${bytes.length} bytes) := ${len} bytes`;
}

function dtypeSwap(r, model) {
  const tensors = allTensors(model);
  if (r.next() < 0.6 && tensors.length > 0) {
    const { t } = r.pick(tensors);
    const to = r.pick([0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 13, 16, 17, 21, 22, 99, -1]);
    const from = t.dataType;
    t.dataType = to;
    return `data_type of tensor '${t.name}' ${from} := ${to}`;
  }
  const infos = allValueInfos(model);
  if (infos.length === 0) return 'dtype: no target';
  const v = r.pick(infos);
  const to = r.pick([0, 2, 3, 6, 7, 9, 10, 11, 8, 100]);
  v.type.tensorType.elemType = to;
  return `elem_type of value '${v.name}' := ${to}`;
}

function fieldSwap(r, model) {
  const nodes = allNodes(model);
  const kind = r.int(6);
  if (kind <= 2 && nodes.length >= 2) {
    const a = r.pick(nodes).n;
    const b = r.pick(nodes).n;
    const field = ['input', 'opType', 'attribute'][kind];
    [a[field], b[field]] = [b[field], a[field]];
    return `swap ${field} of nodes '${a.name || a.opType}' and '${b.name || b.opType}'`;
  }
  if (kind === 3) {
    const tensors = allTensors(model);
    if (tensors.length < 2) return 'swap dims: no target';
    const a = r.pick(tensors).t;
    const b = r.pick(tensors).t;
    [a.dims, b.dims] = [b.dims, a.dims];
    return `swap dims of tensors '${a.name}' and '${b.name}'`;
  }
  if (kind === 4) {
    const g = model.graph;
    if (!g.input?.length || !g.output?.length) return 'swap io: no target';
    const a = r.pick(g.input);
    const b = r.pick(g.output);
    [a.name, b.name] = [b.name, a.name];
    return `swap names of input '${b.name}' and output '${a.name}'`;
  }
  const inits = model.graph.initializer ?? [];
  if (inits.length < 2) return 'swap initializer names: no target';
  const a = r.pick(inits);
  const b = r.pick(inits);
  [a.name, b.name] = [b.name, a.name];
  return `swap names of initializers '${b.name}' and '${a.name}'`;
}

const INT_EXTREMES = ['0', '-1', '1', '2', '3', '-2', '7', '8', '9', '65536', '2147483647', '-2147483648', '4294967296', '1099511627776', '9223372036854775807', '-9223372036854775808'];
const FLOAT_EXTREMES = [Number.NaN, Infinity, -Infinity, 0, -0, -1, 1e38, 3.4e38, 1e-45, -1e30, 0.5, 1000];

function attrMutate(r, model) {
  const withAttrs = allNodes(model).filter(({ n }) => (n.attribute ?? []).length > 0);
  if (withAttrs.length === 0) return 'attr: no target';
  const { n } = r.pick(withAttrs);
  const a = r.pick(n.attribute);
  const where = `attribute '${a.name}' of ${n.opType} '${n.name}'`;
  const action = r.int(10);
  if (action === 0) {
    const to = r.int(15);
    a.type = to;
    return `${where}: type := ${to}`;
  }
  if (action === 1) {
    n.attribute = n.attribute.filter((x) => x !== a);
    return `${where}: removed`;
  }
  if (a.ints?.length || a.type === 7) {
    const ints = [...(a.ints ?? [])];
    const op = r.int(4);
    if (op === 0 && ints.length > 0) ints.pop();
    else if (op === 1) ints.push(long(r.pick(INT_EXTREMES)));
    else if (ints.length > 0) ints[r.int(ints.length)] = long(r.pick(INT_EXTREMES));
    else ints.push(long(r.pick(INT_EXTREMES)));
    a.ints = ints;
    return `${where}: ints := [${ints.map(String).join(', ')}]`;
  }
  if (a.floats?.length || a.type === 6) {
    const floats = [...(a.floats ?? [])];
    if (floats.length > 0 && r.next() < 0.5) floats[r.int(floats.length)] = r.pick(FLOAT_EXTREMES);
    else floats.push(r.pick(FLOAT_EXTREMES));
    a.floats = floats;
    return `${where}: floats := [${floats.join(', ')}]`;
  }
  if (a.type === 2 || (a.i !== undefined && a.i !== null && Number(a.i) !== 0)) {
    const v = r.pick(INT_EXTREMES);
    a.i = long(v);
    return `${where}: i := ${v}`;
  }
  if (a.type === 1) {
    const v = r.pick(FLOAT_EXTREMES);
    a.f = v;
    return `${where}: f := ${v}`;
  }
  if (a.type === 3) {
    const v = r.pick(['', 'nearest', 'linear', 'cubic', 'reflect', 'edge', 'NOTSET', 'SAME_UPPER', 'VALID', 'x'.repeat(1000), '\u0000\u00ff']);
    a.s = Buffer.from(v);
    return `${where}: s := '${v.slice(0, 20)}'`;
  }
  if (a.t) {
    const t = a.t;
    const v = r.pick([...HUGE, ...NEGATIVE, '0']);
    if ((t.dims ?? []).length > 0) t.dims[r.int(t.dims.length)] = long(v);
    else t.dims = [long(v)];
    return `${where}: tensor dim := ${v}`;
  }
  if (a.g) {
    const inner = a.g.node ?? [];
    if (inner.length > 0) inner.splice(r.int(inner.length), 1);
    a.g.output = r.next() < 0.3 ? [] : a.g.output;
    return `${where}: subgraph damaged`;
  }
  const v = r.pick(INT_EXTREMES);
  a.i = long(v);
  return `${where}: i := ${v}`;
}

function cycle(r, model) {
  const graphs = allGraphs(model).filter((g) => (g.node ?? []).length >= 1);
  if (graphs.length === 0) return 'cycle: no target';
  const g = r.pick(graphs);
  const nodes = g.node;
  const i = r.int(nodes.length);
  const j = i + r.int(nodes.length - i);
  const a = nodes[i];
  const b = nodes[j];
  const out = r.pick(b.output ?? []) ?? '';
  if (!a.input?.length) a.input = [out];
  else a.input[r.int(a.input.length)] = out;
  return i === j ? `self-loop: node ${i} (${a.opType}) reads its own output '${out}'` : `cycle: node ${i} (${a.opType}) reads '${out}' of later node ${j} (${b.opType})`;
}

function opsetMutate(r, model) {
  const action = r.int(5);
  if (action === 0) {
    model.opsetImport = [];
    return 'opset_import removed';
  }
  if (action === 1) {
    const v = r.pick(['-1', '0', '1', '7', '99', '2147483648']);
    model.irVersion = long(v);
    return `ir_version := ${v}`;
  }
  if (action === 2) {
    model.opsetImport = [...(model.opsetImport ?? []), onnx.OperatorSetIdProto.create({ domain: r.pick(['com.microsoft', 'ai.onnx.ml', 'x', '']), version: long(r.pick(['1', '13', '1000'])) })];
    return 'opset_import: extra domain';
  }
  const v = r.pick(['0', '1', '5', '6', '7', '9', '10', '11', '12', '13', '14', '17', '18', '19', '21', '22', '99', '2147483648', '-5']);
  const imp = (model.opsetImport ?? []).find((o) => !o.domain);
  if (imp) imp.version = long(v);
  return `default opset := ${v}`;
}

function ioMutate(r, model) {
  const g = model.graph;
  const action = r.int(7);
  if (action === 0) {
    g.output = [];
    return 'graph outputs removed';
  }
  if (action === 1 && g.input?.length) {
    g.input = [...g.input, g.input[r.int(g.input.length)]];
    return 'graph input duplicated';
  }
  if (action === 2 && g.input?.length) {
    const v = r.pick(g.input);
    const old = v.name;
    v.name = r.pick(['', old + '_renamed', (g.output ?? [])[0]?.name ?? 'y']);
    return `graph input '${old}' renamed to '${v.name}'`;
  }
  if (action === 3 && g.initializer?.length) {
    const t = g.initializer.splice(r.int(g.initializer.length), 1)[0];
    return `initializer '${t.name}' removed`;
  }
  if (action === 4 && g.node?.length && g.input?.length) {
    const n = r.pick(g.node);
    if (n.output?.length) n.output[0] = r.pick(g.input).name;
    return `node '${n.name}' overwrites a graph input`;
  }
  if (action === 5 && g.input?.length) {
    const v = r.pick(g.input);
    if (v.type?.tensorType) v.type.tensorType.shape = r.next() < 0.5 ? null : onnx.TensorShapeProto.create({ dim: [] });
    return `graph input '${v.name}' shape cleared`;
  }
  if (g.input?.length) {
    const v = r.pick(g.input);
    v.type = r.next() < 0.5 ? null : onnx.TypeProto.create({ sequenceType: { elemType: v.type } });
    return `graph input '${v.name}' type replaced`;
  }
  return 'io: no target';
}

function nodeDropOrDup(r, model) {
  const graphs = allGraphs(model).filter((g) => (g.node ?? []).length > 0);
  if (graphs.length === 0) return 'node: no target';
  const g = r.pick(graphs);
  const i = r.int(g.node.length);
  if (r.next() < 0.5) {
    const n = g.node.splice(i, 1)[0];
    return `node ${i} (${n.opType}) dropped`;
  }
  const copy = onnx.NodeProto.decode(onnx.NodeProto.encode(g.node[i]).finish());
  g.node.splice(r.int(g.node.length + 1), 0, copy);
  return `node ${i} (${copy.opType}) duplicated`;
}

// ---- hand-encoded protobuf (for nesting deeper than protobufjs' recursive encoder goes) ----

function varint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}
const bytesField = (no, bytes) => concat(varint((no << 3) | 2), varint(bytes.length), bytes);
const stringField = (no, text) => bytesField(no, new TextEncoder().encode(text));
const varintField = (no, n) => concat(varint(no << 3), varint(n));

/**
 * The model with one more node in its main graph: an If whose then-branch holds an If whose then-branch ...
 * `depth` levels down. The loader's decoder recurses once per level, so this probes its stack. Written in one
 * pass: level d is prefix_d + level d-1 + suffix_d, and the prefixes only need the inner lengths, so the bytes
 * are the prefixes (outermost first), the leaf, then the suffixes (innermost first) - linear in depth, where
 * wrapping level by level would copy O(depth^2) bytes.
 */
function deepNest(r, modelBytes) {
  const depth = r.pick([64, 400, 2000, 6000]);
  const model = onnx.ModelProto.decode(modelBytes);
  const out = model.graph.output?.[0]?.name ?? 'y';
  const valueInfo = bytesField(12, stringField(1, out)); // GraphProto.output = ValueInfoProto { name }
  const leaf = concat(stringField(2, 'leaf'), valueInfo);
  const elseAttr = bytesField(5, concat(stringField(1, 'else_branch'), varintField(20, 5), bytesField(6, leaf)));
  const nodeHead = concat(stringField(1, 'cond'), stringField(2, out), stringField(4, 'If'));
  // NodeProto If(cond) -> out, then_branch = inner (innerLength bytes), else_branch = leaf: prefix and suffix.
  const ifAround = (innerLength) => {
    const thenHead = concat(stringField(1, 'then_branch'), varintField(20, 5), varint((6 << 3) | 2), varint(innerLength));
    const thenLength = thenHead.length + innerLength;
    const head = concat(nodeHead, varint((5 << 3) | 2), varint(thenLength), thenHead);
    return { head, tail: elseAttr, length: head.length + innerLength + elseAttr.length };
  };
  const prefixes = [];
  const suffixes = [];
  let length = leaf.length;
  for (let d = 0; d < depth - 1; d++) {
    // GraphProto { node: [If around level d-1], name: 'g<d>', output: [out] }
    const node = ifAround(length);
    const head = concat(varint((1 << 3) | 2), varint(node.length), node.head);
    const tail = concat(node.tail, stringField(2, `g${d}`), valueInfo);
    prefixes.push(head);
    suffixes.push(tail);
    length = head.length + length + tail.length;
  }
  const top = ifAround(length);
  const nodeField = concat(varint((1 << 3) | 2), varint(top.length), top.head, ...prefixes.reverse(), leaf, ...suffixes, top.tail);
  // GraphProto fields may repeat and come in any order: the outermost If (a node, field 1) is appended to the
  // main graph's bytes, and the graph (field 7) to the rest of the model's.
  const main = onnx.GraphProto.encode(model.graph).finish();
  model.graph = null;
  const rest = onnx.ModelProto.encode(model).finish();
  return { bytes: concat(rest, bytesField(7, concat(main, nodeField))), what: `If subgraphs nested ${depth} deep` };
}

const EXTERNAL_KINDS = [
  ['inside', 3], ['dotdot', 2], ['dotdot-nested', 1], ['absolute', 2], ['symlink-file', 2], ['symlink-relative', 2], ['symlink-dir', 2],
  ['dev-zero', 1], ['proc', 1], ['missing', 1], ['directory', 1], ['offset-beyond', 1], ['length-mismatch', 1], ['negative-offset', 1],
  ['nul', 1], ['empty', 1], ['huge-offset', 1], ['fifo', 1],
];

/**
 * Moves one tensor's bytes to an external file and points at it. `files` and `links` describe what the runner
 * writes into the case folder; the sentinel outside the folder (c.sentinelPath, `../sentinel.bin` from the
 * case folder) gets the same bytes.
 */
function externalize(r, model, c) {
  let candidates = (model.graph.initializer ?? []).filter((t) => tensorBytes(t)?.length > 0);
  if (candidates.length === 0) promoteToInitializer(r, model, c);
  candidates = (model.graph.initializer ?? []).filter((t) => tensorBytes(t)?.length > 0);
  if (candidates.length === 0) return 'external: no initializer with data';
  const t = r.pick(candidates);
  const bytes = tensorBytes(t);
  const kind = r.weighted(EXTERNAL_KINDS.map(([k, w]) => [w, k]));
  let location = 'weights.bin';
  let offset = 0;
  let length = bytes.length;
  c.sentinel = bytes;
  switch (kind) {
    case 'inside':
      offset = 4096 * r.int(3);
      c.files[location] = { bytes, offset };
      break;
    case 'dotdot': location = '../sentinel.bin'; c.mustRefuse = true; break;
    case 'dotdot-nested': location = 'sub/../../sentinel.bin'; c.dirs.push('sub'); c.mustRefuse = true; break;
    case 'absolute': location = c.sentinelPath; c.mustRefuse = true; break;
    case 'symlink-file': location = 'link.bin'; c.links.push({ name: 'link.bin', target: c.sentinelPath }); c.mustRefuse = true; break;
    case 'symlink-relative': location = 'link.bin'; c.links.push({ name: 'link.bin', target: '../sentinel.bin' }); c.mustRefuse = true; break;
    case 'symlink-dir': location = 'outside/sentinel.bin'; c.links.push({ name: 'outside', target: '..' }); c.mustRefuse = true; break;
    case 'dev-zero': location = 'zero.bin'; c.links.push({ name: 'zero.bin', target: '/dev/zero' }); c.mustRefuse = true; break;
    case 'proc': location = '/proc/self/environ'; c.mustRefuse = true; break;
    case 'missing': location = 'nope.bin'; break;
    case 'directory': location = 'sub'; c.dirs.push('sub'); break;
    case 'offset-beyond': c.files[location] = { bytes, offset: 0 }; offset = bytes.length; break;
    case 'length-mismatch': c.files[location] = { bytes, offset: 0 }; length = bytes.length - 1; break;
    case 'negative-offset': c.files[location] = { bytes, offset: 0 }; offset = -4096; break;
    case 'nul': location = 'weights.bin\u0000../sentinel.bin'; c.files['weights.bin'] = { bytes, offset: 0 }; break;
    case 'empty': location = ''; break;
    case 'huge-offset': c.files[location] = { bytes, offset: 0 }; offset = '9223372036854775807'; break;
    case 'fifo': location = 'pipe.bin'; c.fifos.push('pipe.bin'); break;
  }
  t.rawData = new Uint8Array(0);
  for (const f of ['floatData', 'int32Data', 'int64Data', 'doubleData', 'uint64Data']) t[f] = [];
  t.dataLocation = 1;
  t.externalData = [
    onnx.StringStringEntryProto.create({ key: 'location', value: location }),
    onnx.StringStringEntryProto.create({ key: 'offset', value: String(offset) }),
    onnx.StringStringEntryProto.create({ key: 'length', value: String(length) }),
  ];
  c.usePath = true;
  return `external data of '${t.name}' (${bytes.length} bytes): ${kind} (location '${location.replace('\u0000', '\\0')}')`;
}

/**
 * Gives a model without initializers one, keeping its meaning: a Constant node's tensor becomes an
 * initializer (the PP-OCR models keep their weights in Constant nodes), or a node test's graph input becomes
 * an initializer holding its test data.
 */
function promoteToInitializer(r, model, c) {
  const g = model.graph;
  const constants = (g.node ?? []).filter((n) => n.opType === 'Constant' && n.output?.length === 1 && n.attribute?.[0]?.t && tensorBytes(n.attribute[0].t)?.length > 0);
  if (constants.length > 0) {
    const n = r.pick(constants);
    const t = n.attribute[0].t;
    t.name = n.output[0];
    g.initializer = [...(g.initializer ?? []), t];
    g.node = g.node.filter((x) => x !== n);
    return;
  }
  const inputs = (g.input ?? []).map((v, i) => ({ v, file: c.dataDir && join(c.dataDir, `input_${i}.pb`) })).filter((x) => x.file && existsSync(x.file));
  if (inputs.length === 0) return;
  const { v, file } = r.pick(inputs);
  const t = onnx.TensorProto.decode(readCached(file));
  t.name = v.name;
  g.initializer = [...(g.initializer ?? []), t];
  g.input = g.input.filter((x) => x !== v);
}

const STRUCTURAL = [
  [5, (r, m) => setDim(r, m, HUGE, 'huge')],
  [4, (r, m) => setDim(r, m, NEGATIVE, 'negative')],
  [2, (r, m) => setDim(r, m, ['0'], 'zero')],
  [5, rawLength],
  [3, dtypeSwap],
  [4, fieldSwap],
  [8, attrMutate],
  [4, cycle],
  [2, opsetMutate],
  [3, ioMutate],
  [3, nodeDropOrDup],
];

function byteMutate(r, src) {
  const at = r.int(src.length);
  switch (r.int(6)) {
    case 0: {
      const out = new Uint8Array(src);
      const flips = 1 + r.int(16);
      for (let i = 0; i < flips; i++) out[r.int(out.length)] ^= 1 << r.int(8);
      return { bytes: out, what: `${flips} bit flips` };
    }
    case 1: {
      const cut = r.next() < 0.3 ? Math.max(0, src.length - 1 - r.int(64)) : at;
      return { bytes: src.slice(0, cut), what: `truncated to ${cut} of ${src.length} bytes` };
    }
    case 2: {
      const out = new Uint8Array(src);
      const n = 1 + r.int(32);
      for (let i = 0; i < n && at + i < out.length; i++) out[at + i] = r.int(256);
      return { bytes: out, what: `${n} bytes overwritten at ${at}` };
    }
    case 3: {
      const junk = Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256));
      return { bytes: concat(src.subarray(0, at), junk, src.subarray(at)), what: `${junk.length} junk bytes inserted at ${at}` };
    }
    case 4: {
      const len = 1 + r.int(512);
      const from = r.int(Math.max(1, src.length - len));
      return { bytes: concat(src.subarray(0, at), src.subarray(from, from + len), src.subarray(at)), what: `slice [${from}, +${len}) duplicated at ${at}` };
    }
    default: {
      // A length-delimited field claiming an enormous length, or a varint that never ends.
      const bomb = r.next() < 0.5 ? Uint8Array.of(0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f) : new Uint8Array(12).fill(0xff);
      return { bytes: concat(src.subarray(0, at), bomb, src.subarray(at)), what: `varint bomb at ${at}` };
    }
  }
}

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Case `index` of the run seeded `seed`: { index, source, mutations: string[], bytes, files, links, dirs,
 * sentinel, mustRefuse, usePath, shapes, scalars, dataDir }. `sentinel` is the absolute path of the file one
 * level above the case folder that escaping locations point at.
 */
export function makeCase(seed, index, { corpus = ['real', 'node'], sentinel = '/nonexistent/sentinel.bin' } = {}) {
  const r = caseRng(seed, index);
  const source = pickSource(r, corpus);
  const original = readCached(source.path);
  const c = {
    index, seed, source: `${source.kind}:${source.name}`, mutations: [], bytes: original, files: {}, links: [], dirs: [], fifos: [],
    sentinel: undefined, sentinelPath: sentinel, mustRefuse: false, usePath: r.next() < 0.7, shapes: source.shapes, scalars: source.scalars, dataDir: source.dataDir,
  };
  const mode = r.weighted([[3, 'bytes'], [6, 'structural'], [1.5, 'external'], [1, 'both'], [0.2, 'nesting']]);
  if (mode === 'nesting') {
    const m = deepNest(r, original);
    c.bytes = m.bytes;
    c.mutations.push(m.what);
    return c;
  }
  if (mode !== 'bytes') {
    const model = onnx.ModelProto.decode(original);
    const steps = mode === 'external' ? (r.next() < 0.3 ? 1 : 0) : 1 + (r.next() < 0.3 ? 1 : 0) + (r.next() < 0.1 ? 1 : 0);
    for (let s = 0; s < steps; s++) {
      // A mutation with nothing to act on (no attributes, no initializers) gives way to another.
      let what;
      for (let tries = 0; tries < 4 && (what === undefined || what.includes('no target')); tries++) what = r.weighted(STRUCTURAL)(r, model);
      c.mutations.push(what);
    }
    // External data last, and never followed by byte damage: a mustRefuse case must reach the loader intact.
    if (mode === 'external') c.mutations.push(externalize(r, model, c));
    c.bytes = onnx.ModelProto.encode(model).finish();
  }
  if (mode === 'bytes' || mode === 'both') {
    const m = byteMutate(r, c.bytes);
    c.bytes = m.bytes;
    c.mutations.push(m.what);
  }
  return c;
}
