/**
 * Running the afxdp command as a child process in a lab namespace, for the
 * CLI tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Lab } from '../../ts/index.js';
import { NO_CAPABILITIES } from './priv.js';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bin = join(repoRoot, 'bin', 'afxdp.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function command(args: string[], ns?: string, unprivileged?: boolean, binPath = bin): [string, string[]] {
  const node = unprivileged ? [...NO_CAPABILITIES, process.execPath, binPath, ...args] : [process.execPath, binPath, ...args];
  return ns ? ['ip', ['netns', 'exec', ns, ...node]] : [node[0]!, node.slice(1)];
}

/** Run `afxdp args...` (inside namespace `ns` if given) to completion. */
export function runCli(args: string[], options: { ns?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number; unprivileged?: boolean } = {}): Promise<CliResult> {
  const [cmd, argv] = command(args, options.ns, options.unprivileged);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: repoRoot,
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A daemon (`afxdp run ...`) running in the background. */
export class Daemon {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  /** stdout as bytes (binary output: `--capture -`). */
  readonly stdoutChunks: Buffer[] = [];
  readonly done: Promise<CliResult>;
  #waiters: Array<() => void> = [];

  /** `binPath`/`cwd`: another copy of the command (an installed package) and where to run it. */
  constructor(args: string[], ns: string, env: NodeJS.ProcessEnv = {}, binPath = bin, cwd = repoRoot) {
    const [cmd, argv] = command(args, ns, false, binPath);
    this.child = spawn(cmd, argv, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const wake = () => {
      for (const w of this.#waiters.splice(0)) w();
    };
    this.child.stdout!.on('data', (d: Buffer) => {
      this.stdoutChunks.push(d);
      this.stdout += d;
      wake();
    });
    this.child.stderr!.on('data', (d) => {
      this.stderr += d;
      wake();
    });
    this.done = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        wake();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** Wait until stdout+stderr match `re` (rejects if the daemon exits first, or after `ms`). */
  async waitFor(re: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
    const end = Date.now() + ms;
    for (;;) {
      const m = (this.stderr + this.stdout).match(re);
      if (m) return m;
      if (this.exited) throw new Error(`daemon exited (${this.child.exitCode ?? this.child.signalCode}) before ${re}:\n${this.stderr}\n${this.stdout}`);
      if (Date.now() > end) throw new Error(`timed out waiting for ${re}:\n${this.stderr}\n${this.stdout}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, 200);
        this.#waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** Wait until the daemon reports that it runs. */
  ready(): Promise<RegExpMatchArray> {
    return this.waitFor(/afxdp: running /);
  }

  /** Send `signal` and wait for the exit. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<CliResult> {
    if (!this.exited) this.child.kill(signal);
    return this.done;
  }

  /** Kill it for good (test cleanup): SIGKILL if still running. */
  async kill(): Promise<void> {
    if (!this.exited) this.child.kill('SIGKILL');
    await this.done;
  }
}

/**
 * Totals per "if/queue" from the daemon's final status lines (with
 * `steering`, the interface lines "if/xdp" of the XDP program instead).
 */
export function finalTotals(stdout: string, steering = false): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const line of stdout.split('\n')) {
    if (!line.endsWith(' final')) continue;
    const m = /^\S+ (\S+) (.*) final$/.exec(line);
    if (!m || m[1]!.endsWith('/xdp') !== steering) continue;
    const rec: Record<string, number> = {};
    for (const kv of m[2]!.split(' ')) {
      const [k, v] = kv.split('=');
      if (k && v !== undefined) rec[k] = Number(v);
    }
    out.set(m[1]!, rec);
  }
  return out;
}

export function sum(totals: Map<string, Record<string, number>>, field: string): number {
  let n = 0;
  for (const rec of totals.values()) n += rec[field] ?? 0;
  return n;
}

/** A fresh lab and a temporary directory (for handler files), both removed afterwards. */
export async function withLabAndDir(queues: number, body: (lab: Lab, dir: string) => Promise<void>): Promise<void> {
  const lab = Lab.create({ queues });
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-cli-'));
  try {
    await body(lab, dir);
  } finally {
    lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}
