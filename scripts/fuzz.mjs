#!/usr/bin/env node
// Fuzzes the ONNX loader and InferenceSession.create (then one run() when a session comes out) with mutated real
// models and backend-test node models; see scripts/fuzz/cases.mjs for the mutations. Every case must end in a
// typed error (OctetError/OnnxError, or an argument TypeError/RangeError of octet's) or a working session:
//   crash      the worker process died (native crash, abort, V8 out of memory): the case is reported with its seed
//   hang       no answer within --timeout-ms
//   untyped    an error that is not octet's (a TypeError from a bug, a stack overflow, ...)
//   read-outside  a case whose external data points outside the model's folder produced a session
// Cases run in worker processes (--jobs), each under an address-space limit (--memory, via prlimit), so one bad
// case cannot take the machine down. Exits 1 when any case failed.
//
//   node scripts/fuzz.mjs [--seed S] [--cases N] [--start K] [--jobs J] [--timeout-ms T] [--memory BYTES|0]
//                         [--corpus real,node] [--report FILE [--all]] [--octet dist/index.js]
//   node scripts/fuzz.mjs --seed S --case I      # replay one case and print its outcome
// Defaults: a seed from the clock (printed), 10,000 cases (`npm run fuzz`: the nightly size), one job per core,
// 20 s per case, 6 GiB of address space per worker. Needs `npm run build` (dist/ and the addon).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const ROOT = resolve(import.meta.dirname, '..');

const { values: args } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    cases: { type: 'string', default: '10000' },
    start: { type: 'string', default: '0' },
    case: { type: 'string' },
    jobs: { type: 'string', default: String(availableParallelism()) },
    'timeout-ms': { type: 'string', default: '20000' },
    memory: { type: 'string', default: String(6 * 2 ** 30) },
    corpus: { type: 'string', default: 'real,node' },
    report: { type: 'string' },
    octet: { type: 'string', default: join(ROOT, 'dist', 'index.js') },
    quiet: { type: 'boolean', default: false },
    all: { type: 'boolean', default: false },
  },
});

const seed = args.seed;
const indices = args.case !== undefined ? [Number(args.case)] : Array.from({ length: Number(args.cases) }, (_, i) => Number(args.start) + i);
const jobs = Math.max(1, Math.min(Number(args.jobs), indices.length));
const timeoutMs = Number(args['timeout-ms']);
// AddressSanitizer maps terabytes of shadow memory: no address-space limit under it.
const asan = /libasan/.test(process.env.LD_PRELOAD ?? '');
const memory = asan ? 0 : Number(args.memory);
const havePrlimit = memory > 0 && spawnSync('prlimit', ['--version']).status === 0;
const corpus = args.corpus.split(',');
const work = mkdtempSync(join(tmpdir(), 'octet-fuzz-'));
const progress = process.stderr.isTTY && !args.quiet && args.case === undefined;

const results = [];
const failures = [];
let peakRss = 0;
let next = 0;
const started = performance.now();

function record(r) {
  results.push(r);
  peakRss = Math.max(peakRss, r.rss ?? 0);
  let failure;
  if (r.outcome === 'crash' || r.outcome === 'hang' || r.outcome === 'untyped' || r.outcome === 'harness') failure = r.outcome;
  else if (r.mustRefuse && r.outcome === 'session') failure = 'read-outside';
  if (failure) failures.push({ failure, seed, replay: `node scripts/fuzz.mjs --seed ${seed} --case ${r.index}`, ...r });
  if (progress && results.length % 25 === 0) {
    const s = (performance.now() - started) / 1000;
    process.stderr.write(`\rfuzz: ${results.length}/${indices.length} cases, ${failures.length} failures, ${s.toFixed(0)} s `);
  }
}

/** One worker process; resolves when there are no more cases for it. */
function runWorker(id) {
  return new Promise((done) => {
    const home = join(work, `w${id}`);
    mkdirSync(home, { recursive: true });
    const config = JSON.stringify({ seed, corpus, octet: resolve(args.octet), workDir: home });
    const worker = join(ROOT, 'scripts', 'fuzz', 'worker.mjs');
    const [cmd, argv] = havePrlimit
      ? ['prlimit', [`--as=${memory}`, '--', process.execPath, worker, config]]
      : [process.execPath, [worker, config]];
    const child = spawn(cmd, argv, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d.toString()).slice(-6000);
    });
    let current;
    let timer;
    let caseStart = 0;
    let finished = false;
    const send = () => {
      if (next >= indices.length) {
        finished = true;
        child.send({ type: 'exit' });
        return;
      }
      current = indices[next++];
      caseStart = performance.now();
      timer = setTimeout(() => {
        record({ index: current, outcome: 'hang', ms: performance.now() - caseStart, message: `no answer after ${timeoutMs} ms`, ...describeCase(current) });
        current = undefined;
        child.kill('SIGKILL');
      }, timeoutMs);
      child.send({ type: 'case', index: current });
    };
    child.on('message', (msg) => {
      if (msg.type === 'ready') send();
      else if (msg.type === 'result' && msg.result.index === current) {
        clearTimeout(timer);
        current = undefined;
        record(msg.result);
        stderr = '';
        send();
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (current !== undefined) {
        record({ index: current, outcome: 'crash', ms: performance.now() - caseStart, exit: signal ?? code, stderr: stderr.slice(-3000), ...describeCase(current) });
      }
      if (!finished && next < indices.length) runWorker(id).then(done);
      else done();
    });
  });
}

let makeCaseFn;
/** Source and mutations of a case, regenerated here for crash and hang reports. */
function describeCase(index) {
  try {
    const c = makeCaseFn(seed, index, { corpus });
    return { source: c.source, mutations: c.mutations, mustRefuse: c.mustRefuse };
  } catch (err) {
    return { source: `(cannot regenerate: ${err.message})` };
  }
}

({ makeCase: makeCaseFn } = await import('./fuzz/cases.mjs'));
await Promise.all(Array.from({ length: jobs }, (_, id) => runWorker(id)));
rmSync(work, { recursive: true, force: true });
if (progress) process.stderr.write('\n');

const seconds = (performance.now() - started) / 1000;
const count = (pred) => results.filter(pred).length;
const bySource = {};
for (const r of results) {
  const s = (bySource[r.source ?? '?'] ??= { cases: 0, sessions: 0, errors: 0 });
  s.cases++;
  if (r.outcome === 'session') s.sessions++;
  if (r.outcome === 'error') s.errors++;
}
const report = {
  seed,
  cases: results.length,
  first: indices[0],
  seconds: Number(seconds.toFixed(1)),
  jobs,
  memoryLimit: havePrlimit ? memory : null,
  outcomes: {
    session: count((r) => r.outcome === 'session'),
    sessionRan: count((r) => r.outcome === 'session' && r.stage === 'run'),
    errorAtCreate: count((r) => r.outcome === 'error' && r.stage === 'create'),
    errorAtRun: count((r) => r.outcome === 'error' && r.stage === 'run'),
    crash: count((r) => r.outcome === 'crash'),
    hang: count((r) => r.outcome === 'hang'),
    untyped: count((r) => r.outcome === 'untyped' || r.outcome === 'harness'),
    readOutside: failures.filter((f) => f.failure === 'read-outside').length,
  },
  mustRefuse: { cases: count((r) => r.mustRefuse), refused: count((r) => r.mustRefuse && r.outcome === 'error') },
  errorCodes: Object.fromEntries(
    Object.entries(results.reduce((m, r) => (r.outcome === 'error' ? ((m[`${r.stage}:${r.code ?? r.name}`] = (m[`${r.stage}:${r.code ?? r.name}`] ?? 0) + 1), m) : m), {})).sort(),
  ),
  byKind: { real: summarize(bySource, 'real:'), node: summarize(bySource, 'node:') },
  slowestMs: results.map((r) => r.ms ?? 0).sort((a, b) => b - a).slice(0, 5).map((v) => Number(v.toFixed(0))),
  peakWorkerRssMiB: Number((peakRss / 2 ** 20).toFixed(0)),
  failures,
  ...(args.all ? { bySource, results } : {}),
};

function summarize(map, prefix) {
  const out = { cases: 0, sessions: 0, errors: 0 };
  for (const [k, v] of Object.entries(map)) {
    if (!k.startsWith(prefix)) continue;
    out.cases += v.cases;
    out.sessions += v.sessions;
    out.errors += v.errors;
  }
  return out;
}

if (args.report) writeFileSync(args.report, JSON.stringify(report, null, 2));
if (args.case !== undefined) {
  console.log(JSON.stringify(results[0], null, 2));
} else if (!args.quiet) {
  const o = report.outcomes;
  console.log(
    `fuzz seed ${seed}: ${report.cases} cases in ${report.seconds} s (${jobs} job${jobs > 1 ? 's' : ''}): ${o.session} sessions (${o.sessionRan} ran), ` +
      `${o.errorAtCreate} typed errors at create, ${o.errorAtRun} at run; ${o.crash} crashes, ${o.hang} hangs, ${o.untyped} untyped errors, ` +
      `${o.readOutside} reads outside the folder (${report.mustRefuse.refused}/${report.mustRefuse.cases} escaping locations refused)`,
  );
  for (const f of failures.slice(0, 20)) console.log(`  ${f.failure} case ${f.index} [${f.source}] ${(f.mutations ?? []).join('; ')}: ${f.message ?? f.exit ?? ''}\n    replay: ${f.replay}`);
}
process.exit(failures.length > 0 ? 1 : 0);
