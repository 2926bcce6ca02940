// A worker_threads body for the concurrency tests: loads octet from dist/ (workerData.dist), creates a session
// on workerData.model and runs each input of workerData.inputs in turn, then reports the outputs and when the
// runs started and ended (performance.timeOrigin-based, comparable across threads). It says 'ready' once its
// session exists and starts running on the next message, so that several workers can be started together.
// With workerData.holdRun, it instead starts one run, says 'started', and waits to be terminated mid-run.
import { parentPort, workerData } from 'node:worker_threads';

const { InferenceSession, Tensor } = await import(workerData.dist);
const session = await InferenceSession.create(workerData.model, workerData.options ?? {});
const name = session.inputNames[0];
const out = session.outputNames[0];
const feed = (x) => ({ [name]: new Tensor('float32', x, workerData.dims) });

if (workerData.holdRun) {
  const run = session.run(feed(workerData.inputs[0]));
  await new Promise((resolve) => setImmediate(resolve)); // the plan exists (freeDimensions): now in the native run
  parentPort.postMessage({ type: 'started' });
  await run;
  parentPort.postMessage({ type: 'finished' });
} else {
  // Wait for 'go' so that all workers start their runs together.
  parentPort.postMessage({ type: 'ready' });
  await new Promise((resolve) => parentPort.once('message', resolve));
  const now = () => performance.timeOrigin + performance.now();
  const start = now();
  const outputs = [];
  for (let round = 0; round < (workerData.rounds ?? 1); round++) {
    for (const x of workerData.inputs) outputs.push((await session.run(feed(x)))[out].data);
  }
  const end = now();
  await session.release();
  parentPort.postMessage({ type: 'done', outputs, start, end });
}
