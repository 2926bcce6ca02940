/**
 * Concurrency and lifetime: sessions in worker_threads in parallel, concurrent run() calls on one session
 * (serialised, results bit for bit equal to sequential runs), release() with runs in flight and queued, typed
 * errors after release, buffers detached by JS during a run, and a worker terminated in the middle of a run.
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

import { beforeAll, describe, expect, it } from 'vitest';

import { canonicalize, createPlan, defaultBackend, InferenceSession, loadModel, lowerModel, OctetError, Tensor } from '../../../src/index.js';
import { DIST_INDEX, requireFreshDist } from '../../helpers/dist.js';
import { MODELS_DIR } from '../onnx/helpers/onnx.js';
import { photoTensor } from '../onnx/helpers/images.js';

const CLS = join(MODELS_DIR, 'ppocr_cls.onnx');
const DET = join(MODELS_DIR, 'ppocr_det.onnx');
const DIMS = [1, 3, 48, 192];
const PHOTOS = ['astronaut.png', 'chelsea.png', 'coffee.png', 'motorcycle_left.png', 'page.png'];

/** The five PNG photos and their 180° rotations, as PP-OCR classifier inputs. */
function inputs(): Float32Array[] {
  const xs = PHOTOS.map((p) => photoTensor(p, 192, 48));
  return [...xs, ...xs.map((x) => x.slice().reverse())];
}

const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');

/** Runs each input one at a time: the reference every concurrent result must equal bit for bit. */
async function sequential(xs: Float32Array[]): Promise<string[]> {
  const s = await InferenceSession.create(CLS);
  const out: string[] = [];
  for (const x of xs) out.push(bits((await s.run({ x: new Tensor('float32', x, DIMS) }))[s.outputNames[0]].data as Float32Array));
  await s.release();
  return out;
}

function startWorker(data: Record<string, unknown>): Worker {
  return new Worker(new URL('../../helpers/session-worker.mjs', import.meta.url), { workerData: { dist: DIST_INDEX, dims: DIMS, ...data } });
}

function message<T>(w: Worker, type: string): Promise<T> {
  return new Promise((resolve, reject) => {
    w.on('message', (m: { type: string }) => m.type === type && resolve(m as T));
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited with code ${code} before '${type}'`)));
  });
}

describe('sessions in worker_threads', () => {
  beforeAll(() => requireFreshDist());

  it('the addon loads in several workers at once; their sessions run in parallel and match the main thread bit for bit', async () => {
    const xs = inputs();
    const reference = await sequential(xs);
    const workers = Array.from({ length: 3 }, () => startWorker({ model: CLS, inputs: xs, rounds: 2 }));
    await Promise.all(workers.map((w) => message(w, 'ready')));
    const done = workers.map((w) => message<{ outputs: Float32Array[]; start: number; end: number }>(w, 'done'));
    for (const w of workers) w.postMessage('go');
    const results = await Promise.all(done);
    await Promise.all(workers.map((w) => w.terminate()));
    for (const r of results) expect(r.outputs.map(bits)).toEqual([...reference, ...reference]);
    // The three workers were running at the same time: every interval overlaps every other.
    expect(Math.max(...results.map((r) => r.start))).toBeLessThan(Math.min(...results.map((r) => r.end)));
  }, 120_000);

  it('a worker terminated in the middle of a run does not take the process down', async () => {
    const freeDimensions = { 'p2o.DynamicDimension.0': 1, 'p2o.DynamicDimension.1': 640, 'p2o.DynamicDimension.2': 640 };
    const w = startWorker({ model: DET, dims: [1, 3, 640, 640], options: { freeDimensions }, inputs: [photoTensor('page.png', 640, 640)], holdRun: true });
    await message(w, 'started');
    await w.terminate();
    // The process and the addon are still fine: a new session runs here and in a new worker.
    const again = startWorker({ model: CLS, inputs: inputs().slice(0, 2) });
    await message(again, 'ready');
    const done = message<{ outputs: Float32Array[] }>(again, 'done');
    again.postMessage('go');
    const r = await done;
    await again.terminate();
    expect(r.outputs.map(bits)).toEqual((await sequential(inputs())).slice(0, 2));
  }, 120_000);
});

describe('concurrent run() on one session', () => {
  it('is serialised: results equal the sequential ones bit for bit, and settle in call order', async () => {
    const xs = inputs();
    const reference = await sequential(xs);
    const s = await InferenceSession.create(CLS);
    const order: number[] = [];
    const results = await Promise.all(
      xs.map((x, i) =>
        s.run({ x: new Tensor('float32', x, DIMS) }).then((r) => {
          order.push(i);
          return bits(r[s.outputNames[0]].data as Float32Array);
        }),
      ),
    );
    expect(results).toEqual(reference);
    expect(order).toEqual(xs.map((_, i) => i));
    await s.release();
  });
});

describe('release()', () => {
  it('lets the run in flight finish, fails the queued ones and later ones with ERR_OCTET_RELEASED, and is idempotent', async () => {
    const xs = inputs();
    const [first] = await sequential(xs.slice(0, 1));
    const s = await InferenceSession.create(CLS);
    const feed = (x: Float32Array) => ({ x: new Tensor('float32', x, DIMS) });
    const inFlight = s.run(feed(xs[0]));
    await new Promise((r) => setImmediate(r)); // the first run is now in the native call
    const queued = s.run(feed(xs[1]));
    const released = s.release();
    const after = s.run(feed(xs[2]));
    const [a, b, c] = await Promise.allSettled([inFlight, queued, after]);
    expect(a.status === 'fulfilled' && bits(a.value[s.outputNames[0]].data as Float32Array)).toBe(first);
    expect(b.status === 'rejected' && b.reason).toMatchObject({ name: 'OctetError', code: 'ERR_OCTET_RELEASED', message: 'the session was released' });
    expect(c.status === 'rejected' && c.reason).toBeInstanceOf(OctetError);
    await released;
    await s.release();
    await expect(s.run(feed(xs[0]))).rejects.toMatchObject({ code: 'ERR_OCTET_RELEASED' });
  });
});

describe('native plan runs and JS buffers', () => {
  // A real plan (the classifier lowered for one input size), driven directly.
  function clsPlan() {
    const model = loadModel(CLS);
    canonicalize(model, { inputShapes: { x: DIMS } });
    return createPlan(lowerModel(model, { threads: 1, int8Backend: defaultBackend() }).plan);
  }
  let gc: () => void;
  beforeAll(() => {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  });

  it('a plan released while its run is in flight finishes that run; the next run throws ERR_OCTET_RELEASED', async () => {
    const x = inputs()[0];
    const plan = clsPlan();
    const want = bits(plan.runSync([x])[0] as Float32Array);
    const running = plan.run([x]);
    plan.release();
    gc();
    expect(bits((await running)[0] as Float32Array)).toBe(want);
    await expect(plan.run([x])).rejects.toMatchObject({ code: 'ERR_OCTET_RELEASED', message: 'the plan was released' });
  });

  it('an input detached (transferred) right after run() was called does not change the result', async () => {
    const plan = clsPlan();
    const x = inputs()[3];
    const want = bits(plan.runSync([x])[0] as Float32Array);
    const input = x.slice();
    const running = plan.run([input]);
    structuredClone(input.buffer, { transfer: [input.buffer] }); // detaches; the clone is dropped and collected
    gc();
    expect(input.length).toBe(0);
    expect(bits((await running)[0] as Float32Array)).toBe(want);
    plan.release();
  });

  it('an output detached during the run rejects with a typed error instead of writing into freed memory', async () => {
    const plan = clsPlan();
    const outputs = [new Float32Array(2)];
    const running = plan.run([inputs()[0]], { outputs });
    structuredClone(outputs[0].buffer, { transfer: [outputs[0].buffer] });
    gc();
    await expect(running).rejects.toMatchObject({ name: 'OctetError', code: 'ERR_OCTET_INVALID_ARGUMENT', message: 'outputs[0] was detached or resized while the run was in flight' });
    // The plan is still usable.
    expect((plan.runSync([inputs()[0]])[0] as Float32Array).length).toBe(2);
    plan.release();
  });
});
