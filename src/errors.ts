// One error class per exit code: bad input (2) and internal failure (1). The native addon rejects
// with code ERR_SAE_MATCH_INPUT / ERR_SAE_MATCH_INTERNAL and src/binding/addon.ts maps those onto these.

/** The input is wrong (file, tensor, shape, value). The CLI exits with code 2. */
export class SaeMatchInputError extends Error {
  readonly code = 'ERR_SAE_MATCH_INPUT';
  readonly exitCode = 2;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SaeMatchInputError';
  }
}

/** Something failed inside sae-match (a bug, out of memory, the native addon). Exit code 1. */
export class SaeMatchInternalError extends Error {
  readonly code = 'ERR_SAE_MATCH_INTERNAL';
  readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SaeMatchInternalError';
  }
}

/**
 * The GPU failed (out of memory, a CUDA error, no usable device). Exit code 1; under `--device auto`
 * the CUDA backend falls back to the CPU instead and warns.
 */
export class SaeMatchDeviceError extends Error {
  readonly code = 'ERR_SAE_MATCH_DEVICE';
  readonly exitCode = 1;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SaeMatchDeviceError';
  }
}

/** Throws if the signal is already aborted, with the same AbortError the native side produces. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) {
    const e = new Error('The operation was aborted') as Error & { code: string };
    e.name = 'AbortError';
    e.code = 'ABORT_ERR';
    throw e;
  }
}
