/**
 * Errors with stable codes. Every failure of the native layer reaches users
 * as an AfxdpError whose `code` never changes between releases; when a
 * syscall failed, `syscall` and `errno` say which and why.
 */

export type ErrorCode =
  | 'ERR_NO_SUCH_INTERFACE'
  | 'ERR_QUEUE_OUT_OF_RANGE'
  | 'ERR_NOT_PERMITTED'
  | 'ERR_INVALID_FRAME_SIZE'
  | 'ERR_INVALID_FRAME_COUNT'
  | 'ERR_INVALID_OPTION'
  | 'ERR_ZEROCOPY_UNSUPPORTED'
  | 'ERR_NATIVE_MODE_UNSUPPORTED'
  | 'ERR_XDP_PROGRAM_BUSY'
  | 'ERR_MTU_TOO_LARGE'
  | 'ERR_QUEUE_BUSY'
  | 'ERR_MEMLOCK_LIMIT'
  | 'ERR_CLOSED'
  | 'ERR_INVALID_DESCRIPTOR'
  | 'ERR_BATCH_PENDING'
  | 'ERR_BPF_LOAD'
  | 'ERR_SYSCALL'
  | 'ERR_ALREADY_RUNNING'
  | 'ERR_NOT_SHARED_UMEM'
  | 'ERR_NATIVE_MODULE'
  | 'ERR_HANDLER_LOAD'
  | 'ERR_INVALID_VERDICT'
  | 'ERR_PACKET_RELEASED'
  | 'ERR_INTERNAL';

export class AfxdpError extends Error {
  readonly code: ErrorCode;
  /** The failing syscall, when one failed (for example `bind(AF_XDP)`). */
  readonly syscall?: string;
  /** Its errno (for example 95 for EOPNOTSUPP). */
  readonly errno?: number;

  constructor(code: ErrorCode, message: string, detail: { syscall?: string; errno?: number; cause?: unknown } = {}) {
    super(message, detail.cause === undefined ? undefined : { cause: detail.cause });
    this.name = 'AfxdpError';
    this.code = code;
    if (detail.syscall !== undefined) this.syscall = detail.syscall;
    if (detail.errno !== undefined) this.errno = detail.errno;
  }
}

/**
 * Turn an error thrown by the native binding into an AfxdpError. The
 * binding throws Error objects with `code` and, for a failed syscall,
 * `syscall` and `errno` properties (crates/afxdp-node/src/errors.rs);
 * anything else (a napi-rs argument check, say) has no ERR_ code and
 * becomes ERR_INTERNAL, or ERR_INVALID_OPTION for a rejected argument.
 */
export function fromNative(err: unknown): AfxdpError {
  if (err instanceof AfxdpError) return err;
  const e = err as { code?: unknown; message?: unknown; syscall?: unknown; errno?: unknown } | null;
  const message = String(e?.message ?? err);
  const detail: { syscall?: string; errno?: number; cause: unknown } = { cause: err };
  if (typeof e?.syscall === 'string') detail.syscall = e.syscall;
  if (typeof e?.errno === 'number') detail.errno = e.errno;
  const code = typeof e?.code === 'string' && e.code.startsWith('ERR_')
    ? (e.code as ErrorCode)
    : e?.code === 'InvalidArg' ? 'ERR_INVALID_OPTION' : 'ERR_INTERNAL';
  return new AfxdpError(code, message, detail);
}

/** Run a native call, rethrowing its failure as an AfxdpError. */
export function native<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw fromNative(err);
  }
}
