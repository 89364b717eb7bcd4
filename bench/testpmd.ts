/**
 * DPDK's `dpdk-testpmd` with the `net_af_xdp` PMD as a reference column of
 * the benchmarks: the same lab end, the same generator, the same CPU for the
 * forwarding core as our consumer. Debian ships it in `dpdk-dev`
 * (`apt-get install dpdk-dev`); the bench installs nothing and reports the
 * column as absent without it.
 *
 * testpmd runs interactively (`-i`) so each window is one `start` ... `stop`
 * and its own "Accumulated forward statistics" are the count; the wall time
 * is taken here around the two commands, and the CPU time from the
 * process's threads in /proc.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { coreShare, type CoreShare } from './core-share.js';

export type TestpmdMode = 'rxonly' | 'macswap';

export interface TestpmdWindow {
  /** Frames received (rxonly) or sent back (macswap) in the window. */
  frames: number;
  rxPackets: number;
  txPackets: number;
  seconds: number;
  /** CPU time of all testpmd threads over the window (the forwarding core busy-polls). */
  cpuNs: number;
  /** The forwarding core's CPU during the window. */
  core: CoreShare;
}

export interface TestpmdOptions {
  netns: string;
  iface: string;
  mode: TestpmdMode;
  /** CPU of the forwarding lcore (testpmd's main lcore goes on `mainCpu`). */
  cpu: number;
  mainCpu: number;
  /** Queue to bind (default 0). */
  queue?: number;
  burst?: number;
  /** More net_af_xdp devargs, e.g. ',busy_budget=0' (AFXDP_TESTPMD_VDEV_ARGS). */
  vdevArgs?: string;
}

/** Path of dpdk-testpmd on PATH (or AFXDP_TESTPMD), or null. */
export function findTestpmd(): string | null {
  const override = process.env.AFXDP_TESTPMD;
  const candidates = override ? [override] : (process.env.PATH ?? '/usr/bin').split(delimiter).map((d) => join(d, 'dpdk-testpmd'));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  return null;
}

/** Sum of on-CPU time (ns) of every thread of `pid` (schedstat's first field). */
function processCpuNs(pid: number): number {
  let total = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // thread gone
    }
  }
  return total;
}

/** One testpmd process, driven through its interactive prompt. */
export class Testpmd {
  readonly #child: ChildProcessWithoutNullStreams;
  #out = '';
  #exited = false;

  readonly #cpu: number;

  private constructor(child: ChildProcessWithoutNullStreams, cpu: number) {
    this.#child = child;
    this.#cpu = cpu;
    child.stdout.on('data', (d: Buffer) => (this.#out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.#out += d.toString()));
    child.on('exit', () => (this.#exited = true));
  }

  static async start(bin: string, o: TestpmdOptions): Promise<Testpmd> {
    const queue = o.queue ?? 0;
    const args = [
      // stdbuf: testpmd's statistics go through stdio, block-buffered on a pipe.
      'netns', 'exec', o.netns, 'stdbuf', '-o0', bin,
      '--no-huge', '-m', '256', '--no-pci', '--file-prefix', `afxdp-bench-${process.pid}-${queue}`,
      '-l', `${o.mainCpu},${o.cpu}`, '--main-lcore', String(o.mainCpu), '--log-level', 'lib.eal:warning',
      '--vdev', `net_af_xdp0,iface=${o.iface},start_queue=${queue},queue_count=1${o.vdevArgs ?? process.env.AFXDP_TESTPMD_VDEV_ARGS ?? ''}`,
      '--', '-i', `--forward-mode=${o.mode}`, '--total-num-mbufs=16384', `--burst=${o.burst ?? 64}`,
    ];
    const t = new Testpmd(spawn('ip', args, { stdio: ['pipe', 'pipe', 'pipe'] }), o.cpu);
    await t.#prompt(30_000);
    return t;
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** Wait for the next `testpmd> ` prompt; returns what was printed before it. */
  async #prompt(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#out.indexOf('testpmd> ');
      if (i >= 0) {
        const text = this.#out.slice(0, i);
        this.#out = this.#out.slice(i + 9);
        return text;
      }
      if (this.#exited) throw new Error(`dpdk-testpmd exited:\n${this.#out.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`dpdk-testpmd gave no prompt in ${timeoutMs} ms:\n${this.#out.slice(-2000)}`);
      await sleep(5);
    }
  }

  async command(line: string): Promise<string> {
    this.#child.stdin.write(`${line}\n`);
    return this.#prompt(10_000);
  }

  /** Forward for `ms` and count. */
  async window(ms: number, mode: TestpmdMode): Promise<TestpmdWindow> {
    await this.command('start');
    const t0 = process.hrtime.bigint();
    const c0 = processCpuNs(this.pid);
    const core = coreShare(this.#cpu);
    await sleep(ms);
    const c1 = processCpuNs(this.pid);
    const share = core();
    this.#child.stdin.write('stop\n');
    const t1 = process.hrtime.bigint();
    const text = await this.#prompt(10_000);
    const acc = text.slice(text.indexOf('Accumulated forward statistics'));
    const rx = /RX-packets:\s*(\d+)/.exec(acc);
    const tx = /TX-packets:\s*(\d+)/.exec(acc);
    if (!rx || !tx) throw new Error(`no forward statistics in testpmd's output:\n${text}`);
    const rxPackets = Number(rx[1]);
    const txPackets = Number(tx[1]);
    return {
      frames: mode === 'rxonly' ? rxPackets : txPackets,
      rxPackets,
      txPackets,
      seconds: Number(t1 - t0) / 1e9,
      cpuNs: c1 - c0,
      core: share,
    };
  }

  async quit(): Promise<void> {
    if (this.#exited) return;
    this.#child.stdin.write('quit\n');
    const exited = new Promise<void>((resolve) => this.#child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** Start testpmd, warm up, measure one window of `ms`, quit. */
export async function testpmdWindow(bin: string, o: TestpmdOptions, ms: number): Promise<TestpmdWindow> {
  const t = await Testpmd.start(bin, o);
  try {
    await t.window(200, o.mode);
    return await t.window(ms, o.mode);
  } finally {
    await t.quit();
  }
}
