// One fuzz worker process (started by scripts/fuzz.mjs): receives case indices over IPC, writes each case into
// its own folder, runs InferenceSession.create on it and, when a session comes out, one run() with inputs of
// the right types and shapes, then reports the outcome. A native crash kills only this process: the parent sees
// the exit and records the case it was running.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { makeCase } from './cases.mjs';

const config = JSON.parse(process.argv[2]);
const octet = await import(pathToFileURL(config.octet).href);
const { InferenceSession, OctetError, Tensor } = octet;
const { onnx } = (await import('node:module')).createRequire(import.meta.url)('onnx-proto');

const home = config.workDir;
const caseDir = join(home, 'case');
const sentinel = join(home, 'sentinel.bin');
/** Inputs larger than this are not fed (the case still counts as a session); 2^22 elements = 16 MiB of float32. */
const MAX_FEED_ELEMENTS = 2 ** 22;
/**
 * Activation memory per plan (the session option; its default is half the machine's memory). A mutated dim
 * can ask for gigabytes legitimately; the limit turns that into ERR_OCTET_MEMORY_LIMIT instead of filling a
 * shared machine (sanitizer runs have no address-space limit to stop it).
 */
const MEMORY_LIMIT = 2 ** 31;

/** Writes the case folder: the model, its external data files, folders and symlinks, and the sentinel outside. */
function writeCase(c) {
  rmSync(caseDir, { recursive: true, force: true });
  mkdirSync(caseDir, { recursive: true });
  writeFileSync(sentinel, c.sentinel ?? new Uint8Array(16));
  const path = join(caseDir, 'model.onnx');
  writeFileSync(path, c.bytes);
  for (const d of c.dirs) mkdirSync(join(caseDir, d), { recursive: true });
  for (const [name, { bytes, offset }] of Object.entries(c.files)) {
    const data = new Uint8Array(offset + bytes.length);
    data.set(bytes, offset);
    writeFileSync(join(caseDir, name), data);
  }
  for (const l of c.links) symlinkSync(l.target, join(caseDir, l.name));
  for (const f of c.fifos) execFileSync('mkfifo', [join(caseDir, f)]);
  return path;
}

const TYPES = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool' };

/** The node case's own input, when its type and dims fit the session's input. */
function testDataInput(c, i, meta) {
  if (!c.dataDir) return undefined;
  const file = join(c.dataDir, `input_${i}.pb`);
  if (!existsSync(file)) return undefined;
  const t = onnx.TensorProto.decode(readFileSync(file));
  const type = TYPES[t.dataType];
  const dims = (t.dims ?? []).map(Number);
  if (type !== meta.type || dims.length !== meta.shape.length) return undefined;
  if (meta.shape.some((d, k) => typeof d === 'number' && d !== dims[k])) return undefined;
  const count = dims.reduce((a, b) => a * b, 1);
  const raw = t.rawData?.length ? new Uint8Array(t.rawData) : undefined;
  const fromRaw = (Ctor) => (raw && raw.length === count * Ctor.BYTES_PER_ELEMENT ? new Ctor(raw.slice().buffer) : undefined);
  let data;
  if (type === 'float32') data = fromRaw(Float32Array) ?? (t.floatData?.length === count ? Float32Array.from(t.floatData) : undefined);
  else if (type === 'int64') data = fromRaw(BigInt64Array) ?? (t.int64Data?.length === count ? BigInt64Array.from(t.int64Data, (v) => BigInt(v.toString())) : undefined);
  else if (type === 'int32') data = fromRaw(Int32Array) ?? (t.int32Data?.length === count ? Int32Array.from(t.int32Data) : undefined);
  else if (type === 'int8') data = fromRaw(Int8Array) ?? (t.int32Data?.length === count ? Int8Array.from(t.int32Data) : undefined);
  else data = fromRaw(Uint8Array) ?? (t.int32Data?.length === count ? Uint8Array.from(t.int32Data) : undefined);
  return data ? new Tensor(type, data, dims) : undefined;
}

/** Feeds of the session's input types and shapes (symbolic dims: the source's known sizes, else 1). */
function makeFeeds(session, c) {
  const feeds = {};
  for (const [i, m] of session.inputMetadata.entries()) {
    const fromData = testDataInput(c, i, m);
    if (fromData) {
      feeds[m.name] = fromData;
      continue;
    }
    if (!TYPES_BY_NAME.has(m.type)) return { skip: `input '${m.name}' has type ${m.type}` };
    if (c.scalars[m.name] !== undefined && m.shape.length === 0 && m.type === 'int64') {
      feeds[m.name] = new Tensor('int64', BigInt64Array.of(c.scalars[m.name]), []);
      continue;
    }
    const known = c.shapes[m.name];
    const dims = m.shape.map((d, k) => (typeof d === 'number' ? d : known?.length === m.shape.length ? known[k] : 1));
    if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) return { skip: `input '${m.name}' has dims [${dims}]` };
    const count = dims.reduce((a, b) => a * b, 1);
    if (count > MAX_FEED_ELEMENTS) return { skip: `input '${m.name}' has ${count} elements` };
    let data;
    switch (m.type) {
      case 'float32': data = Float32Array.from({ length: count }, (_, j) => Math.sin(j * 0.37)); break;
      case 'int64': data = BigInt64Array.from({ length: count }, (_, j) => BigInt(j % 3)); break;
      case 'int32': data = Int32Array.from({ length: count }, (_, j) => j % 3); break;
      case 'int8': data = Int8Array.from({ length: count }, (_, j) => (j % 7) - 3); break;
      default: data = Uint8Array.from({ length: count }, (_, j) => j % 2);
    }
    feeds[m.name] = new Tensor(m.type, data, dims);
  }
  return { feeds };
}
const TYPES_BY_NAME = new Set(Object.values(TYPES));

/**
 * A typed error: an OctetError (OnnxError included) with a code and a message. The arguments here are always
 * valid, so a TypeError or RangeError is typed only when it is octet's own check of the feeds ("Expected ...
 * for feeds['x']..."): anything else - an argument check deep inside tripped by the model's data, or an engine
 * error ("Cannot read properties of null", "Maximum call stack size exceeded") - counts as a bug.
 */
function classify(err, stage) {
  const message = String(err?.message ?? err);
  const typed =
    (err instanceof OctetError && typeof err.code === 'string' && message.length > 0) ||
    ((err instanceof TypeError || err instanceof RangeError) && /^(Expected|Unknown|Missing) .*feeds/.test(message));
  return { outcome: typed ? 'error' : 'untyped', stage, name: err?.name ?? typeof err, code: err?.code, message: message.slice(0, 400), stack: typed ? undefined : String(err?.stack ?? '').slice(0, 1500) };
}

async function runCase(index) {
  const c = makeCase(config.seed, index, { corpus: config.corpus, sentinel });
  const path = writeCase(c);
  const base = { index, source: c.source, mutations: c.mutations, mustRefuse: c.mustRefuse };
  const t0 = performance.now();
  let session;
  try {
    session = await InferenceSession.create(c.usePath ? path : c.bytes, { memoryLimit: MEMORY_LIMIT });
  } catch (err) {
    return { ...base, ...classify(err, 'create'), ms: performance.now() - t0 };
  }
  let result = { outcome: 'session', stage: 'run' };
  try {
    const { feeds, skip } = makeFeeds(session, c);
    if (skip) result = { outcome: 'session', stage: 'create', note: `run skipped: ${skip}` };
    else await session.run(feeds);
  } catch (err) {
    result = classify(err, 'run');
  } finally {
    try {
      await session.release();
    } catch (err) {
      result = classify(err, 'release');
    }
  }
  return { ...base, ...result, ms: performance.now() - t0 };
}

process.on('message', async (msg) => {
  if (msg.type === 'case') {
    const result = await runCase(msg.index).catch((err) => ({ index: msg.index, outcome: 'harness', message: String(err?.stack ?? err) }));
    result.rss = process.memoryUsage().rss;
    process.send({ type: 'result', result });
  } else if (msg.type === 'exit') {
    rmSync(home, { recursive: true, force: true });
    process.exit(0);
  }
});
process.send({ type: 'ready' });
