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

/** Must match crates/afxdp-node/src/errors.rs. */
const DETAIL_MARKER = '\n@afxdp-detail ';

/** Turn an error thrown by the native binding into an AfxdpError. */
export function fromNative(err: unknown): AfxdpError {
  if (err instanceof AfxdpError) return err;
  const e = err as { code?: string; message?: string };
  let message = String(e?.message ?? err);
  let detail: { syscall?: string; errno?: number } = {};
  const at = message.indexOf(DETAIL_MARKER);
  if (at >= 0) {
    try {
      detail = JSON.parse(message.slice(at + DETAIL_MARKER.length));
    } catch {
      // A malformed trailer only loses the detail, never the error.
    }
    message = message.slice(0, at);
  }
  const code = (typeof e?.code === 'string' && e.code.startsWith('ERR_') ? e.code : 'ERR_INTERNAL') as ErrorCode;
  return new AfxdpError(code, message, { ...detail, cause: err });
}

/** Run a native call, rethrowing its failure as an AfxdpError. */
export function native<T>(call: () => T): T {
  try {
    return call();
  } catch (err) {
    throw fromNative(err);
  }
}
