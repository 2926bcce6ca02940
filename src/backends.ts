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

/**
 * The largest weight magnitude oneDNN multiplies exactly without an int8 dot product: its u8·s8 pair sums
 * x₁·w₁ + x₂·w₂ (vpmaddubsw) fit int16 when every |w| ≤ 64, since 255·(64 + 64) = 32640 ≤ 32767. Weights
 * quantized with `reduceRange` (7-bit, [−63, 63]) qualify.
 */
export const ONEDNN_SEVEN_BIT_MAX = 64;

/**
 * Where oneDNN runs int8 Conv / FullyConnected exactly on this CPU: 'all' layers (it has an int8 dot product),
 * 'sevenBit' layers only (AVX2 or AVX-512 without VNNI: uint8 sources with every weight within [−64, 64]; for
 * int8 sources oneDNN halves the weights, which is never exact), or 'none' (no oneDNN, or an older ISA).
 */
export type OnednnInt8Support = 'all' | 'sevenBit' | 'none';

export function onednnInt8Support(info: readonly BackendInfo[] = backends()): OnednnInt8Support {
  if (onednnHasInt8Dot(info)) return 'all';
  const onednn = info.find((b) => b.name === 'onednn' && b.available);
  return onednn && /^(avx2|avx512_core)$/.test(onednn.isa ?? '') ? 'sevenBit' : 'none';
}

/** The largest |code| among int8 weights. */
export function maxWeightMagnitude(weights: Int8Array): number {
  let m = 0;
  for (let i = 0; i < weights.length; i++) {
    const a = weights[i] < 0 ? -weights[i] : weights[i];
    if (a > m) m = a;
  }
  return m;
}

/** Whether every int8 code is within ±ONEDNN_SEVEN_BIT_MAX (stops at the first that is not). */
function withinSevenBit(weights: Int8Array): boolean {
  for (let i = 0, n = weights.length; i < n; i++) {
    const v = weights[i];
    if (v > ONEDNN_SEVEN_BIT_MAX || v < -ONEDNN_SEVEN_BIT_MAX) return false;
  }
  return true;
}

/**
 * Whether oneDNN computes an int8 layer with this source type and these weights exactly here (see
 * onednnInt8Support). Cheap on 8-bit weights: the scan stops at the first code beyond 7 bits.
 */
export function onednnInt8Exact(support: OnednnInt8Support, source: 'int8' | 'uint8', weights: Int8Array): boolean {
  if (support === 'all') return true;
  return support === 'sevenBit' && source === 'uint8' && withinSevenBit(weights);
}

/**
 * Why oneDNN cannot compute an int8 layer with this source type and these weights exactly here, or undefined
 * when it can (see onednnInt8Support).
 */
export function onednnInt8Inexact(support: OnednnInt8Support, source: 'int8' | 'uint8', weights: Int8Array): string | undefined {
  if (onednnInt8Exact(support, source, weights)) return undefined;
  if (support === 'none') return 'oneDNN has no exact int8 kernels on this CPU';
  if (source !== 'uint8') return 'its source is int8 (oneDNN halves int8-source weights here)';
  return `its weights reach ±${maxWeightMagnitude(weights)}`;
}

/**
 * The backend `auto` resolves to for int8 dense layers when nothing is known about them: oneDNN on x86 with
 * VNNI/AMX, else XNNPACK. (Sessions choose per layer: on AVX2 without VNNI, layers with a uint8 source and 7-bit
 * weights run on oneDNN too; see onednnInt8Support.)
 */
export function defaultBackend(): BackendName {
  return onednnHasInt8Dot() ? 'onednn' : 'xnnpack';
}

/**
 * Refuses an int8 layer on oneDNN where it cannot compute it exactly (see onednnInt8Support): an explicit
 * `backend: 'onednn'` on such a CPU throws ERR_OCTET_BACKEND_UNAVAILABLE naming `what` instead of giving drifting
 * results. `layer` (its source type and weight codes) lets 7-bit layers through on CPUs without VNNI.
 */
export function checkInt8Backend(backend: BackendName, what = 'int8 layers', layer?: { source: 'int8' | 'uint8'; weights: Int8Array }): void {
  if (backend !== 'onednn') return;
  const info = backends();
  const onednn = info.find((b) => b.name === 'onednn');
  if (!onednn || !onednn.available) return; // unavailable: the caller reports it
  const support = onednnInt8Support(info);
  if (support === 'all') return;
  const why = layer ? onednnInt8Inexact(support, layer.source, layer.weights) : 'its weights are not known to be 7-bit';
  if (why === undefined) return;
  throw new OctetError('ERR_OCTET_BACKEND_UNAVAILABLE', onednnRefusal(onednn.isa ?? '', what, why));
}

/** The message of an int8 layer refused on oneDNN. */
export function onednnRefusal(isa: string, what: string, why: string): string {
  return (
    `backend 'onednn' cannot run ${what} exactly on this CPU (oneDNN ISA '${isa}'): ${why}. Without an int8 dot product ` +
    `(AVX-512 VNNI, AVX-VNNI or AMX) its u8·s8 pair sums saturate at 16 bits unless the source is uint8 and every weight ` +
    `is within [-64, 64] (quantize with reduceRange); use backend 'xnnpack' or 'auto'`
  );
}
