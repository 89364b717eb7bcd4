/**
 * `afxdp doctor --interface X`: what this host and interface support, and
 * what to change. Exits with the code `afxdp run` would fail with (0 when
 * it would run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { flag, int, interfaceExists, parse, rxQueueCount, str, type Options } from '../args.js';
import { ExitCode, describeError, exitCodeFor, usageError } from '../exit-codes.js';
import { loadBinding, nativePackageName } from '../../native.js';
import { describeProgram, removalHint, xdpPrograms, type XdpProgram } from '../xdp-chain.js';

export const DOCTOR_HELP = `Usage: afxdp doctor --interface <name> [options]

Checks what this host and interface support for afxdp, and says what to
change: kernel version, capabilities held, RLIMIT_MEMLOCK against the UMEM
size, the interface's driver, queues, MTU against the frame size, offloads,
any XDP program already attached, and (by briefly opening a socket on queue
0) native vs generic XDP and zero-copy.

Exits 0 when \`afxdp run\` would start, else with the exit code it would fail with.

Options:
  -i, --interface <name>  Interface to check (in this network namespace)
      --frame-size <n>    Frame size you plan to run with (default 4096)
      --frames <n>        UMEM frames per worker you plan (default 4096)
      --no-probe          Do not open a socket to probe native XDP and zero-copy
      --json              Print the checks as JSON
  -h, --help              This help
`;

const OPTIONS: Options = {
  interface: { type: 'string', short: 'i' },
  'frame-size': { type: 'string' },
  frames: { type: 'string' },
  'no-probe': { type: 'boolean' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  'probe-internal': { type: 'string' },
};

export type CheckStatus = 'ok' | 'info' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  /** What to change (warn and fail). */
  fix?: string;
  /** The exit code `run` would fail with (fail only). */
  exitCode?: number;
}

export interface DoctorReport {
  interface: string;
  kernel: string;
  driver: string | null;
  queues: number;
  mtu: number | null;
  nativeXdp: boolean | null;
  zeroCopy: boolean | null;
  /** AF_XDP multi-buffer (XDP_USE_SG + frags program) works here: frames larger than one UMEM frame. */
  multiBuffer: boolean | null;
  /** The largest MTU a port on this interface takes (with multi-buffer when it works), null when unknown. */
  maxMtu: number | null;
  xdpProgram: { id: number; name: string | null } | null;
  /** Every XDP program on the interface (libxdp's dispatcher, xdp-filter, ...), with who holds it. */
  xdpPrograms: XdpProgram[];
  /** Whether this kernel loads freplace programs (libxdp dispatchers need them); null when not probed. */
  freplace: boolean | null;
  checks: Check[];
  exitCode: number;
}

const CAP = { NET_ADMIN: 12, NET_RAW: 13, IPC_LOCK: 14, SYS_ADMIN: 21, PERFMON: 38, BPF: 39 } as const;

function capabilities(): bigint {
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? BigInt(`0x${m[1]}`) : 0n;
  } catch {
    return 0n;
  }
}

function has(caps: bigint, cap: number): boolean {
  return (caps & (1n << BigInt(cap))) !== 0n;
}

/** RLIMIT_MEMLOCK soft limit in bytes (Infinity when unlimited). */
export function memlockLimit(): number {
  try {
    const m = /^Max locked memory\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return Infinity;
    return Number(m[1]);
  } catch {
    return Infinity;
  }
}

function tryRun(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
}

interface LinkInfo {
  mtu?: number;
  operstate?: string;
  max_mtu?: number;
}

function linkInfo(ifname: string): LinkInfo | null {
  const out = tryRun('ip', ['-d', '-j', 'link', 'show', 'dev', ifname]);
  if (!out) return null;
  try {
    return (JSON.parse(out) as LinkInfo[])[0] ?? null;
  } catch {
    return null;
  }
}

/** Name of BPF program `id` (bpftool), or null. */
export function programName(id: number): string | null {
  const out = tryRun('bpftool', ['-j', 'prog', 'show', 'id', String(id)]);
  if (!out) return null;
  try {
    return (JSON.parse(out) as { name?: string }).name ?? null;
  } catch {
    return null;
  }
}

function kernelAtLeast(rel: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(rel);
  if (!m) return true;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

interface ProbeOutcome {
  ok: boolean;
  code?: string;
  message?: string;
}

/**
 * One probe: open (and close at once) a port on queue 0, in a child process,
 * so nothing of it outlives the probe (the socket and the program go with
 * the process).
 */
function probeOnce(ifname: string, mode: 'native' | 'auto', zeroCopy: 'on' | 'auto', frameSize: number, multiBuffer: 'auto' | true = 'auto'): ProbeOutcome {
  const bin = fileURLToPath(new URL('../../../bin/afxdp.js', import.meta.url));
  const r = spawnSync(process.execPath, [bin, 'doctor', '--probe-internal', JSON.stringify({ ifname, mode, zeroCopy, frameSize, multiBuffer })], { encoding: 'utf8', timeout: 30_000 });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as ProbeOutcome;
  } catch {
    return { ok: false, message: `probe process failed: ${r.stderr.trim() || r.error?.message || `exit ${r.status}`}` };
  }
}

/** The child side of `probeOnce`. */
async function probeChild(spec: string): Promise<number> {
  const { ifname, mode, zeroCopy, frameSize, multiBuffer } = JSON.parse(spec) as { ifname: string; mode: 'native' | 'auto'; zeroCopy: 'on' | 'auto'; frameSize: 2048 | 4096; multiBuffer?: 'auto' | true };
  const { open } = await import('../../port.js');
  let out: ProbeOutcome;
  try {
    const port = await open({ interface: ifname, queue: 0, mode, zeroCopy: zeroCopy === 'on' ? true : 'auto', frameSize, frames: 64, multiBuffer: multiBuffer ?? 'auto' });
    await port.close();
    out = { ok: true };
  } catch (err) {
    out = { ok: false, message: describeError(err, { interface: ifname }).message };
    const code = (err as { code?: string }).code;
    if (code) out.code = code;
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  return 0;
}

/** Native XDP and zero-copy, by trying them. */
function probe(ifname: string, frameSize: number): { native: boolean | null; zeroCopy: boolean | null; multiBuffer: boolean | null; multiBufferError?: string; error?: { code?: string; message: string } } {
  const result: { native: boolean | null; zeroCopy: boolean | null; multiBuffer: boolean | null; multiBufferError?: string; error?: { code?: string; message: string } } = { native: null, zeroCopy: null, multiBuffer: null };
  const fail = (o: ProbeOutcome) => {
    result.error = { message: o.message ?? 'unknown error' };
    if (o.code) result.error.code = o.code;
    return result;
  };
  const native = probeOnce(ifname, 'native', 'auto', frameSize);
  if (native.ok) result.native = true;
  else if (native.code === 'ERR_NATIVE_MODE_UNSUPPORTED') result.native = false;
  else return fail(native);
  const zc = probeOnce(ifname, result.native ? 'native' : 'auto', 'on', frameSize);
  if (zc.ok) result.zeroCopy = true;
  else if (zc.code === 'ERR_ZEROCOPY_UNSUPPORTED') result.zeroCopy = false;
  else return fail(zc);
  // Multi-buffer, asked for whatever the MTU (the kernel says if it can).
  const mb = probeOnce(ifname, result.native ? 'native' : 'auto', 'auto', frameSize, true);
  result.multiBuffer = mb.ok;
  if (!mb.ok) result.multiBufferError = mb.message ?? 'unknown error';
  return result;
}

export async function diagnose(ifname: string, options: { frameSize: number; frames: number; probe: boolean }): Promise<DoctorReport> {
  const checks: Check[] = [];
  const add = (c: Check) => checks.push(c);
  const kernel = release();
  const report: DoctorReport = {
    interface: ifname, kernel, driver: null, queues: 0, mtu: null, nativeXdp: null, zeroCopy: null, multiBuffer: null, maxMtu: null, xdpProgram: null, xdpPrograms: [], freplace: null, checks, exitCode: 0,
  };

  // Kernel.
  if (kernelAtLeast(kernel, 5, 9)) add({ name: 'kernel', status: 'ok', detail: `Linux ${kernel}: AF_XDP with need_wakeup, XDP attach by bpf_link` });
  else add({ name: 'kernel', status: 'fail', detail: `Linux ${kernel}: afxdp needs 5.9 or later (XDP bpf_link)`, fix: 'upgrade the kernel', exitCode: ExitCode.Unsupported });

  // The native addon (a platform package; absent with --omit=optional or on other targets).
  try {
    loadBinding();
    add({ name: 'native', status: 'ok', detail: `addon loaded (${nativePackageName()} or a local build)` });
  } catch (err) {
    add({ name: 'native', status: 'fail', detail: (err as Error).message, fix: `npm install ${nativePackageName()}`, exitCode: ExitCode.Failure });
  }

  // Privileges.
  const caps = capabilities();
  const root = process.getuid?.() === 0;
  const missing: string[] = [];
  if (!has(caps, CAP.NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  if (!has(caps, CAP.BPF) && !has(caps, CAP.SYS_ADMIN)) missing.push('CAP_BPF');
  if (!has(caps, CAP.PERFMON) && !has(caps, CAP.SYS_ADMIN)) missing.push('CAP_PERFMON');
  if (!has(caps, CAP.NET_RAW)) missing.push('CAP_NET_RAW');
  if (missing.length === 0) {
    add({ name: 'privileges', status: 'ok', detail: `${root ? 'root' : `uid ${process.getuid?.()}`} with CAP_NET_ADMIN, CAP_BPF, CAP_PERFMON, CAP_NET_RAW${has(caps, CAP.IPC_LOCK) ? ', CAP_IPC_LOCK' : ''}` });
  } else {
    add({
      name: 'privileges', status: 'fail', detail: `missing ${missing.join(', ')}`,
      fix: 'run as root, or grant the capabilities: setcap / systemd AmbientCapabilities=CAP_NET_ADMIN CAP_BPF CAP_PERFMON CAP_NET_RAW CAP_IPC_LOCK',
      exitCode: ExitCode.Permission,
    });
  }

  // Locked memory for the UMEM.
  const umem = options.frameSize * options.frames;
  const limit = memlockLimit();
  if (has(caps, CAP.IPC_LOCK)) add({ name: 'memlock', status: 'ok', detail: `CAP_IPC_LOCK held: UMEM registration is not limited by RLIMIT_MEMLOCK (${limit === Infinity ? 'unlimited' : mib(limit)})` });
  else if (limit >= umem) add({ name: 'memlock', status: 'ok', detail: `RLIMIT_MEMLOCK ${limit === Infinity ? 'unlimited' : mib(limit)} fits a ${mib(umem)} UMEM per worker` });
  else {
    add({
      name: 'memlock', status: 'fail', detail: `RLIMIT_MEMLOCK ${mib(limit)} is less than one worker's UMEM (${mib(umem)})`,
      fix: 'raise it (`ulimit -l unlimited`, systemd LimitMEMLOCK=infinity), grant CAP_IPC_LOCK, or use fewer --frames',
      exitCode: ExitCode.Permission,
    });
  }

  // The interface.
  if (!interfaceExists(ifname)) {
    add({ name: 'interface', status: 'fail', detail: `no interface '${ifname}' in this network namespace`, fix: 'check the name with `ip link`; for a lab: `ip netns exec afxdp-lab-dut afxdp doctor -i afx0`', exitCode: ExitCode.NoSuchInterface });
    return finish(report);
  }
  const link = linkInfo(ifname);
  const ethtoolInfo = tryRun('ethtool', ['-i', ifname]);
  report.driver = ethtoolInfo ? (/^driver:\s*(\S+)/m.exec(ethtoolInfo)?.[1] ?? null) : null;
  report.queues = rxQueueCount(ifname);
  report.mtu = link?.mtu ?? null;
  add({ name: 'interface', status: 'ok', detail: `${ifname}: driver ${report.driver ?? 'unknown'}, ${link?.operstate ?? 'state unknown'}` });

  const channels = tryRun('ethtool', ['-l', ifname]);
  const combinedMax = channels ? /Pre-set maximums:[\s\S]*?Combined:\s*(\d+)/.exec(channels)?.[1] : undefined;
  add({
    name: 'queues', status: 'info',
    detail: `${report.queues} RX queue${report.queues === 1 ? '' : 's'}${combinedMax ? ` (up to ${combinedMax} combined channels)` : ''}: \`afxdp run\` starts one worker per queue`,
    ...(combinedMax && Number(combinedMax) > report.queues && { fix: `more queues spread the load: \`ethtool -L ${ifname} combined ${combinedMax}\`` }),
  });

  // MTU against the frame size, with the rule `open` applies in every mode
  // (crates/afxdp-core/src/umem.rs check_mtu): 256 bytes of XDP headroom,
  // then an Ethernet header with up to two VLAN tags (22 bytes) and the MTU.
  // A longer frame needs AF_XDP multi-buffer (Linux >= 6.6); before that the
  // kernel would drop it, so `open` refuses the port instead.
  if (report.mtu !== null) {
    const room = options.frameSize - 256;
    const need = report.mtu + 22;
    if (need <= room) add({ name: 'mtu', status: 'ok', detail: `MTU ${report.mtu}: frames up to ${need} bytes fit ${options.frameSize}-byte UMEM frames (${room} bytes of room)` });
    else if (kernelAtLeast(kernel, 6, 6)) {
      // Ports open multi-buffer (XDP_USE_SG) for it; the probe below says whether the kernel and driver take it.
      add({ name: 'mtu', status: 'info', detail: `MTU ${report.mtu}: frames up to ${need} bytes span ${Math.ceil(need / room)} ${options.frameSize}-byte UMEM frames: ports open multi-buffer (jumbo frames)` });
    } else {
      const fix = `lower the MTU (\`ip link set dev ${ifname} mtu ${room - 22}\`)${options.frameSize < 4096 ? ' or use --frame-size 4096' : ''}`;
      const detail = `MTU ${report.mtu} frames (${need} bytes) do not fit ${options.frameSize}-byte UMEM frames (${room} bytes of room)`;
      add({ name: 'mtu', status: 'fail', detail: `${detail}: \`run\` refuses the port (ERR_MTU_TOO_LARGE: AF_XDP multi-buffer, for frames over one UMEM frame, needs Linux >= 6.6)`, fix, exitCode: ExitCode.Unsupported });
    }
  }

  // Offloads that merge or half-checksum frames.
  const features = tryRun('ethtool', ['-k', ifname]);
  if (features) {
    const on = ['generic-receive-offload', 'large-receive-offload'].filter((f) => new RegExp(`^${f}: on`, 'm').test(features));
    if (on.length) add({ name: 'offloads', status: 'warn', detail: `${on.join(', ')} on: handlers may see merged frames (in generic mode)`, fix: `\`ethtool -K ${ifname} gro off lro off\`` });
    else add({ name: 'offloads', status: 'ok', detail: 'GRO/LRO off' });
  }

  // XDP programs already attached: afxdp needs the interface to itself.
  report.xdpPrograms = xdpPrograms(ifname, programName);
  const first = report.xdpPrograms[0];
  if (first) report.xdpProgram = { id: first.id, name: first.name };
  for (const p of report.xdpPrograms) {
    const detail = p.kind === 'afxdp'
      ? `afxdp's steering program ${describeProgram(p)} is attached: another afxdp process serves ${ifname}`
      : `XDP program ${describeProgram(p)} is attached to ${ifname}; afxdp cannot share an interface with another XDP program yet`;
    add({ name: 'xdp-program', status: 'fail', detail, fix: removalHint(p, ifname), exitCode: ExitCode.Busy });
  }
  if (report.xdpPrograms.length === 0) add({ name: 'xdp-program', status: 'ok', detail: 'no XDP program attached' });
  if (options.probe) await probeFreplace(report, add);

  // Probe native XDP and zero-copy.
  const blocked = checks.some((c) => c.status === 'fail');
  if (!options.probe) add({ name: 'probe', status: 'info', detail: 'skipped (--no-probe): native XDP and zero-copy unknown' });
  else if (blocked) add({ name: 'probe', status: 'info', detail: 'skipped: fix the failures above first' });
  else {
    const p = probe(ifname, options.frameSize);
    report.nativeXdp = p.native;
    report.zeroCopy = p.zeroCopy;
    if (p.error) {
      add({ name: 'probe', status: 'fail', detail: `opening ${ifname} queue 0 failed: ${p.error.message}`, exitCode: exitCodeFor(p.error.code) });
    } else {
      if (p.native) add({ name: 'native-xdp', status: 'ok', detail: 'native (driver) XDP works: --mode native' });
      else add({ name: 'native-xdp', status: 'warn', detail: `the ${report.driver ?? ''} driver has no native XDP: generic (skb) mode only, much slower`, fix: 'use a NIC whose driver supports XDP (ice, i40e, ixgbe, mlx5, bnxt, veth...)' });
      if (p.zeroCopy) add({ name: 'zero-copy', status: 'ok', detail: 'AF_XDP zero-copy works: --zero-copy on' });
      else add({ name: 'zero-copy', status: 'info', detail: `no zero-copy here${report.driver === 'veth' ? ' (veth never has it)' : ''}: copy mode (--zero-copy auto falls back to it)` });
      report.multiBuffer = p.multiBuffer;
      const room = options.frameSize - 256;
      // 18 segments: the most the kernel chains (MAX_SKB_FRAGS + 1); the interface's max_mtu caps it too.
      const oneFrame = room - 22;
      report.maxMtu = p.multiBuffer ? Math.min(link?.max_mtu ?? Infinity, 18 * room - 22) : oneFrame;
      const needed = report.mtu !== null && report.mtu > oneFrame;
      if (p.multiBuffer) add({ name: 'multi-buffer', status: 'ok', detail: `AF_XDP multi-buffer works: jumbo frames up to MTU ${report.maxMtu}` });
      else add({ name: 'multi-buffer', status: needed ? 'fail' : 'info', detail: `no AF_XDP multi-buffer here (${p.multiBufferError}): MTU up to ${oneFrame} with ${options.frameSize}-byte frames`, fix: `lower the MTU (\`ip link set dev ${ifname} mtu ${oneFrame}\`)`, ...(needed ? { exitCode: ExitCode.Unsupported } : {}) });
    }
  }
  return finish(report);
}

/**
 * Can libxdp build a multi-program dispatcher on this kernel? It chains
 * programs through freplace programs; where the kernel refuses those,
 * xdp-loader and xdp-filter attach their program alone. Informational:
 * afxdp does not join a dispatcher either way.
 */
async function probeFreplace(report: DoctorReport, add: (c: Check) => void): Promise<void> {
  const { binding } = await import('../../native.js');
  try {
    const p = binding.probeFreplace();
    report.freplace = p.supported;
    add(p.supported
      ? { name: 'multi-prog', status: 'info', detail: 'freplace programs load: libxdp tools can share an interface through a dispatcher (afxdp cannot join one yet)' }
      : { name: 'multi-prog', status: 'info', detail: `this kernel refuses freplace programs (${p.message}): libxdp tools (xdp-loader, xdp-filter) attach their program alone, with no dispatcher` });
  } catch (err) {
    add({ name: 'multi-prog', status: 'info', detail: `freplace support unknown: ${(err as Error).message}` });
  }
}

function finish(report: DoctorReport): DoctorReport {
  const failed = report.checks.find((c) => c.status === 'fail');
  report.exitCode = failed ? (failed.exitCode ?? ExitCode.Failure) : ExitCode.Ok;
  return report;
}

function mib(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(n % (1 << 20) ? 1 : 0)} MiB` : `${Math.round(n / 1024)} KiB`;
}

export function formatReport(r: DoctorReport): string {
  const lines = [`afxdp doctor: ${r.interface} on Linux ${r.kernel}`];
  for (const c of r.checks) {
    lines.push(`  ${c.status.toUpperCase().padEnd(5)} ${c.name.padEnd(12)} ${c.detail}`);
    if (c.fix && c.status !== 'ok') lines.push(`        ${''.padEnd(12)} -> ${c.fix}`);
  }
  lines.push(r.exitCode === 0 ? '`afxdp run` can start on this interface.' : `\`afxdp run\` would fail here (exit ${r.exitCode}): see the FAIL lines.`);
  return `${lines.join('\n')}\n`;
}

export async function doctorCommand(argv: string[]): Promise<number> {
  const p = parse(argv, OPTIONS, false);
  if (flag(p, 'help')) {
    process.stdout.write(DOCTOR_HELP);
    return ExitCode.Ok;
  }
  const probeSpec = str(p, 'probe-internal');
  if (probeSpec) return probeChild(probeSpec);
  const ifname = str(p, 'interface');
  if (!ifname) throw usageError('missing --interface <name>');
  const frameSize = int(p, 'frame-size', 4096)!;
  if (frameSize !== 2048 && frameSize !== 4096) throw usageError(`--frame-size must be 2048 or 4096, got ${frameSize}`);
  const report = await diagnose(ifname, { frameSize, frames: int(p, 'frames', 4096)!, probe: !flag(p, 'no-probe') });
  process.stdout.write(flag(p, 'json') ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.exitCode;
}
