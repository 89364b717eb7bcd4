/**
 * `afxdp status`: the afxdp steering programs attached on this host (every
 * network namespace), per interface, with their counters, and the afxdp
 * daemons running, with theirs.
 *
 * Programs come from bpftool (`bpftool -j prog`, `bpftool -j net` in each
 * named namespace, `bpftool -j map dump` of afxdp_counters); daemons from
 * the state files they keep in /run/afxdp.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { flag, parse, type Options } from '../args.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { readStates, type DaemonState } from '../../daemon/state-file.js';
import { si } from '../../daemon/status-view.js';

export const STATUS_HELP = `Usage: afxdp status [--json]

Lists the afxdp steering programs (afxdp_steer) attached on this host, in
every network namespace, per interface, with their counters (steered to
AF_XDP, passed to the kernel, dropped in XDP), and the afxdp daemons
running, with their per-queue counters. Needs root (bpftool) for programs;
daemons are listed from /run/afxdp without it.

Options:
      --json      Machine-readable output
  -h, --help      This help
`;

const OPTIONS: Options = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

const COUNTER_FIELDS = [
  'steeredPackets', 'steeredBytes', 'passedPackets', 'passedBytes', 'droppedPackets', 'droppedBytes',
  'noSocket', 'blocked', 'offloadHits', 'malformed',
] as const;

export type SteerCounters = Record<(typeof COUNTER_FIELDS)[number], number>;

export interface Attachment {
  netns: string;
  interface: string;
  ifindex: number;
  mode: string;
  programId: number;
  counters: SteerCounters | null;
}

function bpftool(args: string[], ns?: string): unknown {
  const cmd = ns ? 'ip' : 'bpftool';
  const argv = ns ? ['netns', 'exec', ns, 'bpftool', '-j', ...args] : ['-j', ...args];
  const out = execFileSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  return out.trim() ? JSON.parse(out) : null;
}

function asList<T>(v: unknown): T[] {
  return v === null || v === undefined ? [] : Array.isArray(v) ? (v as T[]) : [v as T];
}

/** Sum a per-CPU afxdp_counters value over CPUs (bpftool gives hex bytes, or fields with BTF). */
export function sumCounters(dump: unknown): SteerCounters {
  const total = Object.fromEntries(COUNTER_FIELDS.map((f) => [f, 0])) as SteerCounters;
  const entry = asList<{ values?: Array<{ value: unknown }>; formatted?: { values?: Array<{ value: unknown }> } }>(dump)[0];
  const values = entry?.formatted?.values ?? entry?.values ?? [];
  for (const { value } of values) {
    if (Array.isArray(value)) {
      const bytes = Buffer.from((value as string[]).map((h) => parseInt(h, 16)));
      COUNTER_FIELDS.forEach((f, i) => {
        if (bytes.length >= (i + 1) * 8) total[f] += Number(bytes.readBigUInt64LE(i * 8));
      });
    } else if (value && typeof value === 'object') {
      const v = value as Record<string, number>;
      const snake = ['steered_packets', 'steered_bytes', 'passed_packets', 'passed_bytes', 'dropped_packets', 'dropped_bytes', 'no_socket', 'blocked', 'offload_hits', 'malformed'];
      COUNTER_FIELDS.forEach((f, i) => (total[f] += Number(v[snake[i]!] ?? 0)));
    }
  }
  return total;
}

function namedNamespaces(): string[] {
  try {
    return readdirSync('/var/run/netns');
  } catch {
    return [];
  }
}

/** Every afxdp_steer attachment on the host. Throws a CliError when bpftool cannot run. */
export function attachments(): Attachment[] {
  let progs: Array<{ id: number; name?: string; map_ids?: number[] }>;
  try {
    progs = asList(bpftool(['prog', 'show']));
  } catch (err) {
    const e = err as { code?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new CliError(ExitCode.Failure, 'bpftool is not installed: install it (Debian/Ubuntu: apt install bpftool) to list programs');
    throw new CliError(ExitCode.Permission, `bpftool failed (${String(e.stderr ?? '').trim() || 'no output'}): run afxdp status as root`);
  }
  const steer = new Map(progs.filter((p) => p.name === 'afxdp_steer' || p.name === 'afxdp_steer_mb').map((p) => [p.id, p]));
  if (steer.size === 0) return [];
  const counters = new Map<number, SteerCounters | null>();
  for (const p of steer.values()) {
    let c: SteerCounters | null = null;
    for (const id of p.map_ids ?? []) {
      try {
        const info = bpftool(['map', 'show', 'id', String(id)]) as { name?: string };
        if (info?.name !== 'afxdp_counters') continue;
        c = sumCounters(bpftool(['map', 'dump', 'id', String(id)]));
        break;
      } catch {
        // Map gone meanwhile.
      }
    }
    counters.set(p.id, c);
  }
  const out: Attachment[] = [];
  for (const ns of ['', ...namedNamespaces()]) {
    let net: Array<{ xdp?: Array<{ devname: string; ifindex: number; mode: string; id: number }> }>;
    try {
      net = asList(bpftool(['net', 'show'], ns || undefined));
    } catch {
      continue;
    }
    for (const x of net.flatMap((n) => n.xdp ?? [])) {
      if (!steer.has(x.id)) continue;
      out.push({ netns: ns || '(root)', interface: x.devname, ifindex: x.ifindex, mode: x.mode, programId: x.id, counters: counters.get(x.id) ?? null });
    }
  }
  return out;
}

function formatDaemon(d: DaemonState): string[] {
  const lines = [`daemon pid ${d.pid}  ${d.handler}  ${d.netnsName ? `netns ${d.netnsName}` : d.netns}  since ${d.started}${d.handlerGeneration ? `  (reloaded ${d.handlerGeneration}x)` : ''}`];
  for (const p of d.ports) {
    lines.push(`  ${`${p.interface}/${p.queue}`.padEnd(10)} ${p.attachMode}${p.zeroCopy ? ' zero-copy' : ''}  rx ${si(p.rx)} tx ${si(p.tx)} fwd ${si(p.forwarded)} drop ${si(p.dropped)} err ${si(p.handlerErrors)}` +
      `  fill-empty ${si(p.xdp.rxFillRingEmptyDescs)} rx-full ${si(p.xdp.rxRingFull)}`);
  }
  return lines;
}

export async function statusCommand(argv: string[]): Promise<number> {
  const p = parse(argv, OPTIONS, false);
  if (flag(p, 'help')) {
    process.stdout.write(STATUS_HELP);
    return ExitCode.Ok;
  }
  const daemons = readStates();
  let programs: Attachment[] = [];
  let problem: CliError | null = null;
  try {
    programs = attachments();
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    problem = err;
  }
  if (flag(p, 'json')) {
    process.stdout.write(`${JSON.stringify({ programs, daemons, ...(problem && { error: problem.message }) }, null, 2)}\n`);
    return problem?.exitCode ?? ExitCode.Ok;
  }
  const lines: string[] = [];
  if (problem) lines.push(`programs: ${problem.message}`);
  else if (programs.length === 0) lines.push('no afxdp program attached on this host');
  else {
    lines.push('afxdp programs:');
    for (const a of programs) {
      const c = a.counters;
      lines.push(`  ${a.netns.padEnd(22)} ${a.interface.padEnd(10)} prog ${String(a.programId).padEnd(6)} ${a.mode.padEnd(7)}` +
        (c ? ` steered ${si(c.steeredPackets)} passed ${si(c.passedPackets)} dropped ${si(c.droppedPackets)}${c.noSocket ? ` no-socket ${si(c.noSocket)}` : ''}` : ''));
    }
  }
  if (daemons.length === 0) lines.push('no afxdp daemon running');
  for (const d of daemons) lines.push(...formatDaemon(d));
  process.stdout.write(`${lines.join('\n')}\n`);
  return problem?.exitCode ?? ExitCode.Ok;
}
