/**
 * Which vendor backends this build has and what they detect on this CPU.
 */
import { getBinding, type NativeBackendInfo } from './binding.js';

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

/** The backend `auto` resolves to for int8 dense layers: oneDNN on x86 with VNNI/AMX, else XNNPACK. */
export function defaultBackend(): BackendName {
  const onednn = backends().find((b) => b.name === 'onednn' && b.available);
  if (onednn && /vnni|amx/.test(onednn.isa ?? '')) return 'onednn';
  return 'xnnpack';
}
