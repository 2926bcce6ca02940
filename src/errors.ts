/**
 * Errors thrown by octet. Argument mistakes are TypeError (wrong type) or RangeError (right type, bad value)
 * with a message that names the argument; everything else is an OctetError with a stable `code`.
 */

/** Error codes attached to OctetError (and to errors coming from the native layer). */
export type OctetErrorCode =
  | 'ERR_OCTET_INVALID_ARGUMENT'
  | 'ERR_OCTET_BACKEND_UNAVAILABLE'
  | 'ERR_OCTET_NATIVE_LOAD'
  | 'ERR_OCTET_XNNPACK'
  | 'ERR_OCTET_ONEDNN'
  | 'ERR_OCTET_OUT_OF_MEMORY'
  | 'ERR_OCTET_MEMORY_LIMIT'
  | 'ERR_OCTET_ABORTED'
  | 'ERR_OCTET_RELEASED'
  | 'ERR_OCTET_NATIVE'
  | (string & {});

export class OctetError extends Error {
  readonly code: OctetErrorCode;

  constructor(code: OctetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OctetError';
    this.code = code;
  }
}

/** Describes a received value for an error message: `0 of type number`, `Float32Array of length 3`. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor.name;
    return 'length' in value ? `${name} of length ${(value as unknown as ArrayLike<unknown>).length}` : name;
  }
  if (Array.isArray(value)) return `Array of length ${value.length}`;
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}' of type string`;
  // Generators have a constructor without a name: Object.prototype.toString names them ('Generator').
  if (typeof value === 'object') return `${(value as object).constructor?.name || Object.prototype.toString.call(value).slice(8, -1)} of type object`;
  return `${String(value)} of type ${typeof value}`;
}

/**
 * The one helper every argument check goes through:
 * "Expected positive finite number for inputScale but received 0 of type number".
 * A value of the right JS type but out of range gives a RangeError, otherwise a TypeError.
 */
export function invalidParameterError(name: string, expected: string, actual: unknown, range = false): TypeError | RangeError {
  const message = `Expected ${expected} for ${name} but received ${describe(actual)}`;
  return range ? new RangeError(message) : new TypeError(message);
}

/**
 * Runs a native call, keeping the JS stack of the caller: the error is rethrown as an OctetError whose
 * stack starts at the JS call site and whose message and code come from the native layer.
 */
export function callNative<T>(fn: () => T): T {
  const site = new Error();
  try {
    return fn();
  } catch (err) {
    throw fromNative(err, site);
  }
}

/** Async variant of callNative for promise-returning native calls. */
export async function callNativeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const site = new Error();
  try {
    return await fn();
  } catch (err) {
    throw fromNative(err, site);
  }
}

function fromNative(err: unknown, site: Error): unknown {
  if (!(err instanceof Error) || err instanceof OctetError) return err;
  const code = (err as Error & { code?: string }).code ?? 'ERR_OCTET_NATIVE';
  const wrapped = new OctetError(code, err.message, { cause: err });
  const frames = site.stack?.split('\n').slice(1).join('\n') ?? '';
  wrapped.stack = `OctetError [${code}]: ${err.message}\n${frames}`;
  return wrapped;
}
