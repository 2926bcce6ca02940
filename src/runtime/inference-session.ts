/**
 * The public session interface, shaped like onnxruntime-node's so existing code ports by changing the import:
 *
 *   const session = await InferenceSession.create('model.int8.onnx', { threads: 4 });
 *   const { output } = await session.run({ input: new Tensor('float32', data, [1, 3, 224, 224]) });
 *   session.release();
 *
 * The implementation is in inference-session-impl.ts.
 */
import type { Tensor } from './tensor.js';

export type ExecutionBackend = 'auto' | 'xnnpack' | 'onednn';

export interface SessionOptions {
  /** Threads for the kernels of one run. Default: 1. */
  threads?: number;
  /**
   * Backend for int8 convolutions and matrix products: `auto` (default) takes oneDNN on x86 with VNNI/AMX and
   * XNNPACK elsewhere; other operators always run on XNNPACK or octet's own kernels.
   */
  backend?: ExecutionBackend;
  /**
   * Fixed sizes for symbolic input dims (e.g. `{ batch: 1, height: 640 }`). Dims left symbolic are taken from
   * the first run's inputs; a run with other sizes prepares (and caches) another plan.
   */
  freeDimensions?: Record<string, number>;
  /**
   * Most bytes of activation memory one prepared plan (one set of input sizes) may allocate. A model that needs
   * more fails with OctetError `ERR_OCTET_MEMORY_LIMIT` before anything is allocated: at create() when its input
   * sizes are fixed, else at the run() that brings the sizes. Default: half of the machine's memory
   * (`os.totalmem() / 2`); `Infinity` for no limit. Weights are not counted: they are bounded by the model file.
   */
  memoryLimit?: number;
}

export interface RunOptions {
  /** Collect the time of every node of this run (`session.lastProfile`). Default: false. */
  profile?: boolean;
}

export type FeedsType = Record<string, Tensor>;
export type ReturnType = Record<string, Tensor>;

export interface ValueMetadata {
  name: string;
  type: string;
  /** Numbers for fixed dims, strings for symbolic ones. */
  shape: (number | string)[];
}

export interface InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ValueMetadata[];
  readonly outputMetadata: readonly ValueMetadata[];
  /** Runs the whole model in one native call on a worker thread. */
  run(feeds: FeedsType, options?: RunOptions): Promise<ReturnType>;
  /** Frees the native plan; later runs throw OctetError ERR_OCTET_RELEASED. Idempotent. */
  release(): Promise<void>;
}
