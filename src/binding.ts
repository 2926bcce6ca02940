/**
 * The one place that loads the native addon (node-gyp-build: prebuilds/<platform>-<arch>/ first, then
 * build/Release). Everything else imports the typed `binding` from here.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { OctetError } from './errors.js';

/** One vendor library as the addon sees it on this machine. */
export interface NativeBackendInfo {
  name: 'xnnpack' | 'onednn';
  available: boolean;
  version?: string;
  /** The instruction set the vendor's int8 kernels dispatch to (e.g. `avx512_core_vnni`, `neondot`). */
  isa?: string;
  /** CPU features the vendor library detected. */
  features?: string[];
  /** Why the backend cannot run here, when available is false. */
  error?: string;
}

export interface NativeFullyConnectedParams {
  inputChannels: number;
  outputChannels: number;
  dtype: 'int8' | 'uint8';
  inputScale: number;
  inputZeroPoint: number;
  weights: Int8Array;
  weightScales: Float32Array;
  bias?: Int32Array;
  outputScale: number;
  outputZeroPoint: number;
  outputMin: number;
  outputMax: number;
  threads: number;
}

export interface NativeFullyConnected {
  run(input: Int8Array | Uint8Array, output: Int8Array | Uint8Array, batch: number): Promise<void>;
  runSync(input: Int8Array | Uint8Array, output: Int8Array | Uint8Array, batch: number): void;
  release(): void;
  readonly implementation: string | null;
}

/** A prepared plan (native/addon/plan_wrap.h); src/runtime/plan.ts validates before calling. */
export interface NativePlan {
  run(inputs: ArrayBufferView[], outputs: ArrayBufferView[], profile?: boolean): Promise<Float64Array | undefined>;
  runSync(inputs: ArrayBufferView[], outputs: ArrayBufferView[], profile?: boolean): Float64Array | undefined;
  release(): void;
  readonly implementations: string[] | null;
  readonly arenaBytes: number | null;
  readonly constantBytes: number | null;
}

export interface Binding {
  backends(): NativeBackendInfo[];
  readonly napiVersion: number;
  FullyConnected: new (backend: string, params: NativeFullyConnectedParams) => NativeFullyConnected;
  Plan: new (plan: object) => NativePlan;
}

/** The package root: src/ and dist/ both sit one level below it. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let cached: Binding | undefined;

function loadError(cause: unknown): OctetError {
  const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
  const missingLib = /(lib[\w.+-]+\.so[.\d]*): cannot open shared object file/.exec(reason)?.[1];
  const fixes = [
    missingLib
      ? `The vendor library ${missingLib} is missing: install the Debian runtime packages (libxnnpack0 libcpuinfo0 libpthreadpool0${process.arch === 'x64' ? ' libdnnl2' : ''}) or reinstall octet so its prebuilt binary (which bundles them) is used.`
      : undefined,
    `No prebuilt binary matched ${process.platform}-${process.arch}: octet ships prebuilds for linux-x64 and linux-arm64 (glibc >= 2.34).`,
    `Build from source: sudo bash ${path.join(packageRoot, 'scripts/install-deps.sh')} && (cd ${packageRoot} && npm run build:native)`,
  ].filter((x): x is string => x !== undefined);
  return new OctetError(
    'ERR_OCTET_NATIVE_LOAD',
    `octet could not load its native addon (${reason}).\nPossible fixes:\n${fixes.map((f, i) => `  ${i + 1}. ${f}`).join('\n')}`,
    { cause },
  );
}

/** Loads the addon once; throws one OctetError listing the fixes when no binary loads. */
export function getBinding(): Binding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    // OCTET_NATIVE_ADDON names a specific .node (e.g. the sanitizer build in build-asan/) to load instead.
    const override = process.env.OCTET_NATIVE_ADDON;
    // oneDNN's OpenMP threads otherwise spin after each parallel region, taking the cores XNNPACK's pthreadpool
    // (the other ops of the same plan) needs next: at 2 threads on 2 cores that made runs 10-50x slower. libgomp
    // reads this when it loads with the addon; a value the user set wins.
    process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
    const load = require('node-gyp-build') as (dir: string) => unknown;
    cached = (override ? require(path.resolve(override)) : load(packageRoot)) as Binding;
  } catch (err) {
    throw loadError(err);
  }
  return cached;
}
