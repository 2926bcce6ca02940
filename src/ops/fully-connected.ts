/**
 * An int8 fully-connected layer on a vendor backend: the pattern every lowered operator follows.
 * Arguments are validated here (the native layer re-checks sizes), the vendor operator is created and its
 * weights packed once, and run() crosses into native code once, on a worker thread.
 */
import { checkInt8Backend, onednnInt8Exact, onednnInt8Support, type BackendName } from '../backends.js';
import { getBinding, type NativeFullyConnected } from '../binding.js';
import { callNative, callNativeAsync, invalidParameterError, OctetError } from '../errors.js';
import {
  expectInteger,
  expectKnownKeys,
  expectObject,
  expectOneOf,
  expectScale,
  expectTypedArray,
} from '../validate.js';

export type QuantizedDType = 'int8' | 'uint8';

/** Scale and zero point of one quantized tensor: real = (q − zeroPoint) · scale. */
export interface QuantParams {
  scale: number;
  zeroPoint: number;
}

export interface FullyConnectedInt8Options {
  /**
   * `auto` (default) picks oneDNN on x86 with VNNI/AMX, and on AVX2 without VNNI when oneDNN is exact there
   * (uint8 input and every weight within [-64, 64]); XNNPACK otherwise.
   */
  backend?: BackendName | 'auto';
  /** Activation type of input and output. Default `int8`. */
  dtype?: QuantizedDType;
  inputChannels: number;
  outputChannels: number;
  /** Symmetric int8 weights, [outputChannels, inputChannels] row-major. */
  weights: Int8Array;
  /** One scale (per tensor) or one per output channel (per channel, axis 0). */
  weightScale: number | Float32Array | readonly number[];
  /** int32 bias quantized with scale inputScale·weightScale[n] and zero point 0. */
  bias?: Int32Array;
  input: QuantParams;
  output: QuantParams;
  /** Fused activation clamp in the output's quantized domain (e.g. outputMin = output zero point for Relu). */
  outputMin?: number;
  outputMax?: number;
  /** Threads the kernel may use. Default 1. */
  threads?: number;
}

const OPTION_KEYS = [
  'backend',
  'dtype',
  'inputChannels',
  'outputChannels',
  'weights',
  'weightScale',
  'bias',
  'input',
  'output',
  'outputMin',
  'outputMax',
  'threads',
] as const;

const MAX_CHANNELS = 1 << 24;

function expectQuantParams(name: string, value: unknown, lo: number, hi: number): QuantParams {
  expectObject(name, value);
  expectKnownKeys(name, value, ['scale', 'zeroPoint']);
  return {
    scale: expectScale(`${name}.scale`, value.scale),
    zeroPoint: expectInteger(`${name}.zeroPoint`, value.zeroPoint, lo, hi),
  };
}

export class FullyConnectedInt8 {
  readonly backend: BackendName;
  readonly dtype: QuantizedDType;
  readonly inputChannels: number;
  readonly outputChannels: number;
  readonly perChannel: boolean;
  #native: NativeFullyConnected | undefined;

  private constructor(backend: BackendName, dtype: QuantizedDType, k: number, n: number, perChannel: boolean, native: NativeFullyConnected) {
    this.backend = backend;
    this.dtype = dtype;
    this.inputChannels = k;
    this.outputChannels = n;
    this.perChannel = perChannel;
    this.#native = native;
  }

  /** Validates the options, creates the vendor operator and packs the weights. */
  static create(options: FullyConnectedInt8Options): FullyConnectedInt8 {
    expectObject('options', options);
    expectKnownKeys('options', options as unknown as Record<string, unknown>, OPTION_KEYS);
    const backendOpt = expectOneOf('backend', options.backend ?? 'auto', ['auto', 'xnnpack', 'onednn'] as const);
    const dtype = expectOneOf('dtype', options.dtype ?? 'int8', ['int8', 'uint8'] as const);
    const [lo, hi] = dtype === 'int8' ? [-128, 127] : [0, 255];
    const k = expectInteger('inputChannels', options.inputChannels, 1, MAX_CHANNELS);
    const n = expectInteger('outputChannels', options.outputChannels, 1, MAX_CHANNELS);
    const weights = expectTypedArray('weights', options.weights, Int8Array, k * n, `outputChannels*inputChannels = ${k * n}`);

    let weightScales: Float32Array;
    const ws = options.weightScale;
    if (typeof ws === 'number') {
      weightScales = Float32Array.of(expectScale('weightScale', ws));
    } else if (ws instanceof Float32Array || Array.isArray(ws)) {
      if (ws.length !== 1 && ws.length !== n) {
        throw invalidParameterError('weightScale', `one scale or outputChannels = ${n} scales`, ws, true);
      }
      Array.from(ws as ArrayLike<number>).forEach((s, i) => expectScale(`weightScale[${i}]`, s));
      weightScales = Float32Array.from(ws as ArrayLike<number>);
    } else {
      throw invalidParameterError('weightScale', 'number, Float32Array or number[]', ws);
    }

    const bias = options.bias === undefined ? undefined : expectTypedArray('bias', options.bias, Int32Array, n, `outputChannels = ${n}`);
    const input = expectQuantParams('input', options.input, lo, hi);
    const output = expectQuantParams('output', options.output, lo, hi);
    const outputMin = expectInteger('outputMin', options.outputMin ?? lo, lo, hi);
    const outputMax = expectInteger('outputMax', options.outputMax ?? hi, lo, hi);
    if (outputMin > outputMax) throw invalidParameterError('outputMax', `integer >= outputMin (${outputMin})`, outputMax, true);
    const threads = expectInteger('threads', options.threads ?? 1, 1, 1024);

    const support = onednnInt8Support(getBinding().backends());
    const backend = backendOpt !== 'auto' ? backendOpt : support !== 'none' && onednnInt8Exact(support, dtype, weights) ? 'onednn' : 'xnnpack';
    const binding = getBinding();
    const info = binding.backends().find((b) => b.name === backend);
    if (!info || !info.available) {
      throw new OctetError(
        'ERR_OCTET_BACKEND_UNAVAILABLE',
        info ? `backend '${backend}' cannot run here: ${info.error}` : `backend '${backend}' is not built into this binary (${process.arch})`,
      );
    }
    checkInt8Backend(backend, 'FullyConnectedInt8', { source: dtype, weights });
    const native = callNative(
      () =>
        new binding.FullyConnected(backend, {
          inputChannels: k,
          outputChannels: n,
          dtype,
          inputScale: input.scale,
          inputZeroPoint: input.zeroPoint,
          weights,
          weightScales,
          bias,
          outputScale: output.scale,
          outputZeroPoint: output.zeroPoint,
          outputMin,
          outputMax,
          threads,
        }),
    );
    return new FullyConnectedInt8(backend, dtype, k, n, weightScales.length > 1, native);
  }

  /** The vendor kernel the backend picked, e.g. `onednn:brg:avx512_core_vnni`. */
  get implementation(): string {
    return this.#live().implementation ?? '';
  }

  /**
   * Runs the layer on `batch` rows of `input` ([batch, inputChannels]) on a worker thread and resolves
   * with the [batch, outputChannels] result. Pass `output` to reuse a buffer.
   */
  async run(input: Int8Array | Uint8Array, output?: Int8Array | Uint8Array): Promise<Int8Array | Uint8Array> {
    const [x, y, batch] = this.#prepare(input, output);
    const native = this.#live();
    await callNativeAsync(() => native.run(x, y, batch));
    return y;
  }

  /** Synchronous run() on the calling thread. */
  runSync(input: Int8Array | Uint8Array, output?: Int8Array | Uint8Array): Int8Array | Uint8Array {
    const [x, y, batch] = this.#prepare(input, output);
    const native = this.#live();
    callNative(() => native.runSync(x, y, batch));
    return y;
  }

  /** Frees the vendor operator; later calls throw ERR_OCTET_RELEASED. Idempotent. */
  release(): void {
    this.#native?.release();
    this.#native = undefined;
  }

  #live(): NativeFullyConnected {
    if (!this.#native) throw new OctetError('ERR_OCTET_RELEASED', 'FullyConnectedInt8 was released');
    return this.#native;
  }

  #prepare(input: unknown, output: unknown): [Int8Array | Uint8Array, Int8Array | Uint8Array, number] {
    const Ctor = this.dtype === 'int8' ? Int8Array : Uint8Array;
    const x = expectTypedArray('input', input, Ctor as typeof Int8Array);
    if (x.length % this.inputChannels !== 0) {
      throw invalidParameterError('input', `${Ctor.name} whose length is a multiple of inputChannels = ${this.inputChannels}`, x, true);
    }
    const batch = x.length / this.inputChannels;
    const y =
      output === undefined
        ? new Ctor(batch * this.outputChannels)
        : expectTypedArray('output', output, Ctor as typeof Int8Array, batch * this.outputChannels, `batch*outputChannels = ${batch * this.outputChannels}`);
    return [x, y, batch];
  }
}
