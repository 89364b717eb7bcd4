/**
 * A running daemon describes itself in /run/afxdp/<pid>.json (refreshed every
 * second, removed at exit), so `afxdp status` can list daemons and their
 * counters from any shell. Best effort: a read-only /run only loses that.
 */
import { mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PortStats } from '../port.js';
import type { WorkerStats } from './protocol.js';

export const STATE_DIR = process.env.AFXDP_STATE_DIR ?? '/run/afxdp';

export interface DaemonState {
  pid: number;
  handler: string;
  interfaces: string[];
  queues: number[];
  /** The network namespace, as /proc/self/ns/net names it (net:[inode]). */
  netns: string;
  /** `ip netns` name of that namespace, when it has one. */
  netnsName?: string;
  started: string;
  updated: string;
  ports: PortStats[];
  handlerCalls: number;
  handlerGeneration: number;
}

export function netnsId(pid: number | 'self' = 'self'): string {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return 'unknown';
  }
}

/** Name under /var/run/netns of the namespace `id` (net:[inode]), if it has one. */
export function netnsName(id: string): string | undefined {
  const m = /^net:\[(\d+)\]$/.exec(id);
  if (!m) return undefined;
  try {
    for (const name of readdirSync('/var/run/netns')) {
      try {
        if (String(statSync(join('/var/run/netns', name)).ino) === m[1]) return name;
      } catch {
        // Being deleted.
      }
    }
  } catch {
    // No named namespaces.
  }
  return undefined;
}

export class StateFile {
  readonly path: string;
  #base: Omit<DaemonState, 'updated' | 'ports' | 'handlerCalls' | 'handlerGeneration'>;
  #disabled = false;

  constructor(settings: { interfaces: string[]; queues: number[] }, handlerPath: string) {
    this.path = join(STATE_DIR, `${process.pid}.json`);
    const id = netnsId();
    this.#base = {
      pid: process.pid,
      handler: handlerPath,
      interfaces: settings.interfaces,
      queues: settings.queues,
      netns: id,
      started: new Date().toISOString(),
    };
    const name = netnsName(id);
    if (name) this.#base.netnsName = name;
  }

  update(stats: WorkerStats[]): void {
    if (this.#disabled) return;
    const state: DaemonState = {
      ...this.#base,
      updated: new Date().toISOString(),
      ports: stats.flatMap((w) => w.ports),
      handlerCalls: stats.reduce((n, w) => n + w.handler.calls, 0),
      handlerGeneration: Math.max(0, ...stats.map((w) => w.handler.generation)),
    };
    try {
      mkdirSync(STATE_DIR, { recursive: true, mode: 0o755 });
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, JSON.stringify(state, null, 1));
      renameSync(tmp, this.path);
    } catch {
      this.#disabled = true;
    }
  }

  remove(): void {
    rmSync(this.path, { force: true });
    rmSync(`${this.path}.tmp`, { force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

function stateFiles(): string[] {
  try {
    return readdirSync(STATE_DIR).filter((f) => /^\d+\.json$/.test(f));
  } catch {
    return [];
  }
}

/**
 * Remove the state files and control sockets of daemons that are gone (a
 * SIGKILL leaves them behind). Every afxdp command calls this; a user who may
 * not remove them (not root) leaves them: `denied` lists those pids.
 */
export function reapStaleState(): { reaped: number[]; denied: number[] } {
  const reaped: number[] = [];
  const denied: number[] = [];
  for (const f of stateFiles()) {
    const pid = Number(f.slice(0, -5));
    if (alive(pid)) continue;
    try {
      for (const stale of [`${pid}.json`, `${pid}.json.tmp`, `${pid}.sock`]) rmSync(join(STATE_DIR, stale), { force: true });
      reaped.push(pid);
    } catch {
      denied.push(pid);
    }
  }
  return { reaped, denied };
}

/** States of the daemons alive now (stale files of dead ones are removed when allowed). */
export function readStates(): DaemonState[] {
  reapStaleState();
  const out: DaemonState[] = [];
  for (const f of stateFiles()) {
    const pid = Number(f.slice(0, -5));
    if (!alive(pid)) continue;
    try {
      out.push(JSON.parse(readFileSync(join(STATE_DIR, f), 'utf8')) as DaemonState);
    } catch {
      // Being rewritten, or not ours.
    }
  }
  return out.sort((a, b) => a.pid - b.pid);
}
