#!/usr/bin/env node
// Soak test: a real int8 model (PP-OCR's orientation classifier quantized by octet from the photos, as in
// scripts/demo.mjs) run --runs times on one session, then --sessions sessions created, run once and released,
// with the resident set size (RSS) sampled after a garbage collection. Memory must stay flat after warm-up:
// growth (median of the last five samples against the first five after warm-up) below --max-growth
// (default 5 %) in both phases, else exit 1.
//
//   node scripts/soak.mjs [--runs 10000] [--sessions 1000] [--warmup-runs 500] [--warmup-sessions 100]
//                         [--max-growth 0.05] [--report FILE]
// Needs `npm run build` and `bash scripts/fetch-test-material.sh`. `npm run soak` runs the full size.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

import { InferenceSession, serializeModel, Tensor } from '../dist/index.js';
import { H, W, photo, photoFiles, quantizeCls } from './cls-fixture.mjs';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '10000' },
    sessions: { type: 'string', default: '1000' },
    'warmup-runs': { type: 'string', default: '500' },
    'warmup-sessions': { type: 'string', default: '100' },
    'max-growth': { type: 'string', default: '0.05' },
    report: { type: 'string' },
  },
});
const runs = Number(args.runs);
const sessions = Number(args.sessions);
const warmupRuns = Math.min(Number(args['warmup-runs']), runs);
const warmupSessions = Math.min(Number(args['warmup-sessions']), sessions);
const maxGrowth = Number(args['max-growth']);

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc');
const MiB = 2 ** 20;
/** RSS after a full collection, so that garbage the JS heap has not yet reclaimed does not count as growth. */
function rss() {
  gc();
  gc();
  return process.memoryUsage().rss;
}

const log = (line) => process.stderr.write(`${line}\n`);

// The int8 model: static QDQ, per-channel int8 weights, activations calibrated on the photos.
let t0 = performance.now();
const { model } = await quantizeCls();
const int8 = serializeModel(model);
log(`quantized ppocr_cls in ${((performance.now() - t0) / 1000).toFixed(1)} s (${(int8.length / 1024).toFixed(0)} KiB int8)`);

const photos = [];
for (const file of photoFiles()) photos.push(await photo(file));
const feed = (k) => ({ x: new Tensor('float32', photos[k % photos.length], [1, 3, H, W]) });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Runs `step` `count` times, sampling RSS 20 times. Growth compares the median of the last five samples with
 * the median of the first five after warm-up: single samples swing by several percent as the allocator and
 * the JS heap breathe (creating sessions allocates and frees tens of MiB), a leak moves the whole series.
 */
async function phase(name, count, warmup, step) {
  const every = Math.max(1, Math.floor(count / 20));
  const samples = [];
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    await step(i);
    if ((i + 1) % every === 0 || i + 1 === count) {
      samples.push({ i: i + 1, rssMiB: Number((rss() / MiB).toFixed(1)) });
      if (process.stderr.isTTY) process.stderr.write(`\r${name}: ${i + 1}/${count}`);
    }
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  const after = samples.filter((s) => s.i > warmup).map((s) => s.rssMiB);
  if (after.length < 10) throw new Error(`${name}: only ${after.length} samples after warm-up; raise the count or lower the warm-up`);
  const base = median(after.slice(0, 5));
  const end = median(after.slice(-5));
  const peak = Math.max(...after);
  return {
    count,
    warmup,
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    rssAfterWarmupMiB: base,
    rssEndMiB: end,
    rssPeakMiB: peak,
    growth: Number(((end - base) / base).toFixed(4)),
    peakGrowth: Number(((peak - base) / base).toFixed(4)),
    samples,
  };
}

// Phase 1: one session, many runs; every output must stay a probability pair.
const session = await InferenceSession.create(int8);
const out = session.outputNames[0];
const runTimes = [];
const runPhase = await phase('runs', runs, warmupRuns, async (i) => {
  const s = performance.now();
  const p = (await session.run(feed(i)))[out].data;
  runTimes.push(performance.now() - s);
  if (!(Math.abs(p[0] + p[1] - 1) < 1e-3)) throw new Error(`run ${i}: output [${p[0]}, ${p[1]}] is not a probability pair`);
});
await session.release();
runTimes.sort((a, b) => a - b);
runPhase.msMedian = Number(runTimes[Math.floor(runTimes.length / 2)].toFixed(2));
runPhase.msP99 = Number(runTimes[Math.floor(runTimes.length * 0.99)].toFixed(2));

// Phase 2: sessions created from the int8 bytes, run once (which prepares the plan) and released.
const sessionPhase = await phase('sessions', sessions, warmupSessions, async (i) => {
  const s = await InferenceSession.create(int8);
  await s.run(feed(i));
  await s.release();
});

const report = { model: 'ppocr_cls int8 (QDQ, per-channel, calibrated on the photos)', maxGrowth, runs: runPhase, sessions: sessionPhase };
if (args.report) writeFileSync(args.report, JSON.stringify(report, null, 2));
const pct = (g) => `${(g * 100).toFixed(2)} %`;
console.log(
  `soak: ${runs} runs in ${runPhase.seconds} s (median ${runPhase.msMedian} ms, p99 ${runPhase.msP99} ms): RSS ${runPhase.rssAfterWarmupMiB} MiB after warm-up -> ${runPhase.rssEndMiB} MiB at the end (${pct(runPhase.growth)}; highest sample ${pct(runPhase.peakGrowth)})`,
);
console.log(
  `soak: ${sessions} sessions created, run and released in ${sessionPhase.seconds} s: RSS ${sessionPhase.rssAfterWarmupMiB} MiB after warm-up -> ${sessionPhase.rssEndMiB} MiB at the end (${pct(sessionPhase.growth)}; highest sample ${pct(sessionPhase.peakGrowth)})`,
);
const ok = runPhase.growth < maxGrowth && sessionPhase.growth < maxGrowth;
if (!ok) console.log(`soak: FAILED: growth above ${pct(maxGrowth)}`);
process.exit(ok ? 0 : 1);
