/**
 * Which vendor backends this build has and what they detect on this CPU.
 */
import { getBinding, type NativeBackendInfo } from './binding.js';
import { OctetError } from './errors.js';

export type BackendName = 'xnnpack' | 'onednn';
export type BackendInfo = NativeBackendInfo;

/**
 * Lists the compiled-in backends with what the vendor libraries detect: XNNPACK's CPU features through
 * cpuinfo and oneDNN's effective ISA (`dnnl_get_effective_cpu_isa`). A backend that cannot initialise on
 * this machine is listed with `available: false` and the reason.
 */
export function backends(): BackendInfo[] {
  return getBinding().backends();
}

/**
 * Whether oneDNN has an int8 dot-product ISA here (AVX-512 VNNI, AVX-VNNI or AMX). Without one, oneDNN 2.6
 * multiplies with vpmaddubsw, whose u8·s8 pair sums saturate at 16 bits (and for int8 sources it halves the
 * weights to avoid that): results drift from exact int32 accumulation by more than requantization rounding.
 */
export function onednnHasInt8Dot(info: readonly BackendInfo[] = backends()): boolean {
  const onednn = info.find((b) => b.name === 'onednn' && b.available);
  return onednn !== undefined && /vnni|amx/.test(onednn.isa ?? '');
}

/** The backend `auto` resolves to for int8 dense layers: oneDNN on x86 with VNNI/AMX, else XNNPACK. */
export function defaultBackend(): BackendName {
  return onednnHasInt8Dot() ? 'onednn' : 'xnnpack';
}

/**
 * Refuses int8 layers on oneDNN where it cannot compute them exactly (see onednnHasInt8Dot): an explicit
 * `backend: 'onednn'` on such a CPU throws ERR_OCTET_BACKEND_UNAVAILABLE instead of giving drifting results.
 */
export function checkInt8Backend(backend: BackendName, what = 'int8 layers'): void {
  if (backend !== 'onednn') return;
  const info = backends();
  const onednn = info.find((b) => b.name === 'onednn');
  if (!onednn || !onednn.available || onednnHasInt8Dot(info)) return; // unavailable: the caller reports it
  throw new OctetError(
    'ERR_OCTET_BACKEND_UNAVAILABLE',
    `backend 'onednn' cannot run ${what} exactly on this CPU (oneDNN ISA '${onednn.isa}'): it needs an int8 dot product ` +
      `(AVX-512 VNNI, AVX-VNNI or AMX), without which its u8·s8 pair sums saturate at 16 bits; use backend 'xnnpack' or 'auto'`,
  );
}
