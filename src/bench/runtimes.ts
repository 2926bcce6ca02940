/**
 * The two runtimes a benchmark times, behind one small interface: create a session from a model file, turn
 * plain feeds into the runtime's own tensors once (outside the timed region), run, release.
 *
 * onnxruntime-node is an optional peer dependency: it is imported dynamically, and a missing package is a user
 * error that says how to install it. It runs with `intraOpNumThreads = threads`, `interOpNumThreads = 1` and
 * thread spinning off: idle spinning threads would otherwise steal the cores octet runs on.
 */
import { OctetError } from '../errors.js';
import { InferenceSession } from '../runtime/inference-session-impl.js';
import type { ExecutionBackend, ValueMetadata } from '../runtime/inference-session.js';
import { Tensor } from '../runtime/tensor.js';
import type { BenchTensorType, BenchTypedArray } from './inputs.js';

export type RuntimeName = 'octet' | 'onnxruntime';

export interface FeedTensor {
  name: string;
  type: BenchTensorType;
  data: BenchTypedArray;
  dims: number[];
}

export interface BenchSession {
  /** The model's inputs as octet reads them (octet's sessions only). */
  readonly inputMetadata?: readonly ValueMetadata[];
  /** The kernels of the last prepared plan (octet's sessions only). */
  implementations?(): string[];
  /** Converts feeds to the runtime's tensors; the result is passed to run(). */
  prepare(feeds: readonly FeedTensor[]): unknown;
  run(prepared: unknown): Promise<unknown>;
  release(): Promise<void>;
}

export interface BenchRuntime {
  readonly name: RuntimeName;
  /** The package's version ('' when unknown). */
  readonly version: string;
  create(modelPath: string): Promise<BenchSession>;
}

export interface RuntimeSettings {
  threads: number;
  backend: ExecutionBackend;
}

export function octetRuntime(settings: RuntimeSettings, version = ''): BenchRuntime {
  return {
    name: 'octet',
    version,
    async create(modelPath) {
      const s = await InferenceSession.create(modelPath, { threads: settings.threads, backend: settings.backend });
      return {
        inputMetadata: s.inputMetadata,
        implementations: () => s.implementations(),
        prepare: (feeds) => Object.fromEntries(feeds.map((f) => [f.name, new Tensor(f.type, f.data as Float32Array, f.dims)])),
        run: (prepared) => s.run(prepared as Record<string, Tensor>),
        release: () => s.release(),
      };
    },
  };
}

interface OrtModule {
  InferenceSession: { create(path: string, options: object): Promise<{ run(feeds: object): Promise<unknown>; release?(): Promise<void> }> };
  Tensor: new (type: string, data: unknown, dims: readonly number[]) => unknown;
  env?: { versions?: { common?: string } };
}

/**
 * Imports the optional peer. `specifier` is only for tests (a package that is not installed); the message
 * tells a missing package apart from one that is installed but does not load.
 */
export async function importPeer(specifier = 'onnxruntime-node'): Promise<OrtModule> {
  try {
    const m = (await import(specifier)) as OrtModule & { default?: OrtModule };
    return m.InferenceSession ? m : (m.default as OrtModule);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && e.message.includes(`'${specifier}'`)) {
      throw new OctetError('ERR_OCTET_BENCH', `--peer onnxruntime needs the optional package ${specifier}, which is not installed: npm install ${specifier}`);
    }
    throw new OctetError('ERR_OCTET_BENCH', `--peer onnxruntime: ${specifier} is installed but does not load: ${String(e.message).split('\n')[0]}`);
  }
}

export async function onnxruntimePeer(settings: RuntimeSettings, specifier?: string): Promise<BenchRuntime> {
  const ort = await importPeer(specifier);
  const options = {
    intraOpNumThreads: settings.threads,
    interOpNumThreads: 1,
    logSeverityLevel: 3,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
  return {
    name: 'onnxruntime',
    version: ort.env?.versions?.common ?? '',
    async create(modelPath) {
      const s = await ort.InferenceSession.create(modelPath, options);
      return {
        prepare: (feeds) => Object.fromEntries(feeds.map((f) => [f.name, new ort.Tensor(f.type, f.data, f.dims)])),
        run: (prepared) => s.run(prepared as object),
        release: async () => {
          await s.release?.();
        },
      };
    },
  };
}
