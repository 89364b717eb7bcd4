/**
 * Exit codes of the afxdp command and the mapping from library error codes
 * to them. Every failure the CLI reports is one line naming the problem and
 * what to do about it; the exit code tells scripts which class it was.
 */

/** Distinct exit codes per failure class (documented in docs/cli.md). */
export const ExitCode = {
  Ok: 0,
  /** Anything not covered below (an internal error, a worker that crashed). */
  Failure: 1,
  /** Unknown flag, missing or malformed argument. */
  Usage: 2,
  /** The handler module is missing, has no default export, throws on load or in setup(). */
  HandlerLoad: 3,
  /** The interface (or the queue asked for) does not exist. */
  NoSuchInterface: 4,
  /** The interface or queue is busy: another XDP program or AF_XDP socket holds it. */
  Busy: 5,
  /** Not root, or missing CAP_NET_ADMIN / CAP_BPF / CAP_PERFMON / CAP_NET_RAW / CAP_IPC_LOCK, or RLIMIT_MEMLOCK too low. */
  Permission: 6,
  /** The interface cannot do what was asked (native mode, zero-copy, MTU against frame size). */
  Unsupported: 7,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one line and exits with. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

export function usageError(message: string): CliError {
  return new CliError(ExitCode.Usage, `${message} (see --help)`);
}

/** Exit code for an AfxdpError code (or any error with a string `code`). */
export function exitCodeFor(code: string | undefined): number {
  switch (code) {
    case 'ERR_NO_SUCH_INTERFACE':
    case 'ERR_QUEUE_OUT_OF_RANGE':
      return ExitCode.NoSuchInterface;
    case 'ERR_XDP_PROGRAM_BUSY':
    case 'ERR_QUEUE_BUSY':
      return ExitCode.Busy;
    case 'ERR_NOT_PERMITTED':
    case 'ERR_MEMLOCK_LIMIT':
      return ExitCode.Permission;
    case 'ERR_ZEROCOPY_UNSUPPORTED':
    case 'ERR_NATIVE_MODE_UNSUPPORTED':
    case 'ERR_MTU_TOO_LARGE':
      return ExitCode.Unsupported;
    case 'ERR_HANDLER_LOAD':
      return ExitCode.HandlerLoad;
    case 'ERR_INVALID_OPTION':
    case 'ERR_INVALID_FRAME_SIZE':
    case 'ERR_INVALID_FRAME_COUNT':
      return ExitCode.Usage;
    default:
      return ExitCode.Failure;
  }
}

/** What to do about a library error, for the one-line message. */
export function hintFor(code: string | undefined, context: { interface?: string } = {}): string {
  const ifname = context.interface ?? '<interface>';
  switch (code) {
    case 'ERR_NO_SUCH_INTERFACE':
      return 'check the name with `ip link`; for a lab, run inside its namespace (`ip netns exec afxdp-lab-dut afxdp run ...`)';
    case 'ERR_QUEUE_OUT_OF_RANGE':
      return `pick queues the interface has (\`ethtool -l ${ifname}\`), or use --queues all`;
    case 'ERR_XDP_PROGRAM_BUSY':
      return `another XDP program is attached to ${ifname}: remove it as the message says (one attached with ip link: \`ip link set dev ${ifname} xdp off\`; a bpf_link's: \`bpftool link detach\`), or see \`afxdp doctor --interface ${ifname}\``;
    case 'ERR_QUEUE_BUSY':
      return 'another AF_XDP socket is bound to that queue (another afxdp run?); stop it or choose other --queues';
    case 'ERR_NOT_PERMITTED':
      return 'run as root, or grant CAP_NET_ADMIN, CAP_BPF, CAP_PERFMON, CAP_NET_RAW and CAP_IPC_LOCK (see docs/cli.md)';
    case 'ERR_MEMLOCK_LIMIT':
      return 'raise RLIMIT_MEMLOCK (`ulimit -l unlimited`, systemd LimitMEMLOCK=infinity) or grant CAP_IPC_LOCK, or use fewer --frames';
    case 'ERR_ZEROCOPY_UNSUPPORTED':
      return 'the driver cannot do zero-copy here: use --zero-copy auto (or off)';
    case 'ERR_NATIVE_MODE_UNSUPPORTED':
      return 'the driver has no native XDP: use --mode auto (or skb)';
    case 'ERR_MTU_TOO_LARGE':
      return `lower the MTU of ${ifname} (4096-byte frames, the default, take MTU 3818), or let ports open multi-buffer (jumbo frames: Linux >= 6.6, not with multiBuffer: false)`;
    case 'ERR_INVALID_OPTION':
    case 'ERR_INVALID_FRAME_SIZE':
    case 'ERR_INVALID_FRAME_COUNT':
      return 'see --help for valid values';
    default:
      return '';
  }
}

/** One line for an error of any kind, with the exit code that goes with it. */
export function describeError(err: unknown, context: { interface?: string } = {}): { exitCode: number; message: string } {
  if (err instanceof CliError) return { exitCode: err.exitCode, message: err.message };
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const message = oneLine(String(e?.message ?? err));
  if (code?.startsWith('ERR_PARSE_ARGS')) return { exitCode: ExitCode.Usage, message: `${message} (see --help)` };
  // The handler loader's messages already say what is wrong and what to do.
  if (code === 'ERR_HANDLER_LOAD') return { exitCode: ExitCode.HandlerLoad, message };
  const hint = hintFor(code, context);
  const exitCode = exitCodeFor(code);
  return { exitCode, message: hint ? `${message}${code ? ` [${code}]` : ''}: ${hint}` : `${message}${code ? ` [${code}]` : ''}` };
}

export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}
