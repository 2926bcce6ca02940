/**
 * Runs models in onnxruntime-node, to check that a rewritten model computes what the original does.
 */
import * as ort from 'onnxruntime-node';

export type Feeds = Record<string, ort.Tensor>;

export async function runOrt(bytes: Uint8Array, feeds: Feeds): Promise<Record<string, ort.Tensor>> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  try {
    const inputs: Feeds = {};
    for (const name of session.inputNames) inputs[name] = feeds[name];
    return await session.run(inputs);
  } finally {
    await session.release();
  }
}

/** Largest |a-b| / max(|a|, |b|, floor) over all elements; throws when shapes or types differ. */
export function maxRelativeError(a: ort.Tensor, b: ort.Tensor, floor = 1e-3): number {
  if (a.type !== b.type) throw new Error(`type ${a.type} vs ${b.type}`);
  if (a.dims.join(',') !== b.dims.join(',')) throw new Error(`dims [${a.dims}] vs [${b.dims}]`);
  const x = a.data as ArrayLike<number | bigint>;
  const y = b.data as ArrayLike<number | bigint>;
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const p = Number(x[i]);
    const q = Number(y[i]);
    if (Number.isNaN(p) && Number.isNaN(q)) continue;
    const err = Math.abs(p - q) / Math.max(Math.abs(p), Math.abs(q), floor);
    if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : err;
  }
  return worst;
}

export { ort };
