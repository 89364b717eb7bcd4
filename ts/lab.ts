/**
 * A self-made veth lab: two network namespaces joined by a veth pair, with
 * documentation addresses and offloads off (so frames reach AF_XDP whole,
 * with real checksums). Used by the tests, the benchmarks and `afxdp lab`.
 *
 *   dut namespace  afx0 192.0.2.1/24 ── veth ── afx1 192.0.2.2/24  peer namespace
 *
 * Interfaces are created inside the namespaces, so labs never clash on
 * names and nothing is created in the caller's namespace.
 */
import { execFileSync } from 'node:child_process';
import { isMainThread } from 'node:worker_threads';

export interface LabOptions {
  /** Tag in the namespace names (default: pid and a counter). */
  name?: string;
  /** RX/TX queues per veth end (default 1). */
  queues?: number;
  /** Keep IPv6 on (off by default: its ND/MLD chatter would reach handlers). */
  ipv6?: boolean;
  /** MTU of both ends (default 1500). */
  mtu?: number;
  /** veth pairs between the namespaces (default 1; at most 2). */
  pairs?: number;
  /**
   * Keep the lab when this process exits (`afxdp lab up`). By default a lab
   * is deleted with the process that made it, whatever ends it.
   */
  persist?: boolean;
}

export interface LabPair {
  dut: LabEnd;
  peer: LabEnd;
}

export interface LabEnd {
  ns: string;
  ifname: string;
  mac: string;
  ipv4: string;
}

let labCounter = 0;
const liveLabs = new Set<Lab>();

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function inNs(ns: string, cmd: string, args: string[]): string {
  return run('ip', ['netns', 'exec', ns, cmd, ...args]);
}

export class Lab {
  /** The first pair's ends. */
  readonly dut: LabEnd;
  readonly peer: LabEnd;
  /** Every pair: pair 0 on 192.0.2.0/24, pair 1 on 198.51.100.0/24. */
  readonly pairs: LabPair[];
  readonly queues: number;
  #destroyed = false;

  private constructor(tag: string, queues: number, pairs: number) {
    this.queues = queues;
    const nets = ['192.0.2', '198.51.100'];
    if (!(pairs >= 1 && pairs <= nets.length)) throw new RangeError(`a lab has 1..${nets.length} pairs`);
    this.pairs = nets.slice(0, pairs).map((net, i) => ({
      dut: { ns: `afxdp-${tag}-dut`, ifname: `afx${2 * i}`, mac: `02:00:00:00:0${i}:01`, ipv4: `${net}.1` },
      peer: { ns: `afxdp-${tag}-peer`, ifname: `afx${2 * i + 1}`, mac: `02:00:00:00:0${i}:02`, ipv4: `${net}.2` },
    }));
    this.dut = this.pairs[0]!.dut;
    this.peer = this.pairs[0]!.peer;
  }

  /** Create the namespaces and the veth pair. Cleans up after itself if any step fails. */
  static create(options: LabOptions = {}): Lab {
    // Labs of processes that died without cleaning up (SIGKILL, a signal
    // without an exit handler) go first: they hold no frames, only names.
    sweepStaleLabs();
    const tag = options.name ?? `${process.pid}-${labCounter++}`;
    const queues = options.queues ?? 1;
    const lab = new Lab(tag, queues, options.pairs ?? 1);
    if (!options.persist) {
      liveLabs.add(lab);
      removeLabsOnSignals();
    }
    try {
      lab.#build(options);
    } catch (err) {
      lab.destroy();
      throw err;
    }
    return lab;
  }

  #build(options: LabOptions): void {
    run('ip', ['netns', 'add', this.dut.ns]);
    run('ip', ['netns', 'add', this.peer.ns]);
    for (const ns of [this.dut.ns, this.peer.ns]) {
      if (!options.ipv6) {
        inNs(ns, 'sysctl', ['-qw', 'net.ipv6.conf.all.disable_ipv6=1']);
        inNs(ns, 'sysctl', ['-qw', 'net.ipv6.conf.default.disable_ipv6=1']);
      }
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    for (const pair of this.pairs) this.#buildPair(pair, options);
  }

  #buildPair({ dut, peer }: LabPair, options: LabOptions): void {
    const q = String(this.queues);
    run('ip', ['-n', dut.ns, 'link', 'add', dut.ifname, 'numtxqueues', q, 'numrxqueues', q, 'type', 'veth',
      'peer', 'name', peer.ifname, 'netns', peer.ns, 'numtxqueues', q, 'numrxqueues', q]);
    for (const end of [dut, peer]) {
      run('ip', ['-n', end.ns, 'link', 'set', end.ifname, 'address', end.mac, 'mtu', String(options.mtu ?? 1500)]);
      // Merged (GRO) or partially checksummed frames would reach AF_XDP otherwise.
      inNs(end.ns, 'ethtool', ['-K', end.ifname, 'gro', 'off', 'gso', 'off', 'tso', 'off', 'tx', 'off', 'rx', 'off']);
      if (this.queues > 1) inNs(end.ns, 'ethtool', ['-L', end.ifname, 'rx', q, 'tx', q]);
      run('ip', ['-n', end.ns, 'addr', 'add', `${end.ipv4}/24`, 'dev', end.ifname]);
      run('ip', ['-n', end.ns, 'link', 'set', end.ifname, 'up']);
    }
    // Static neighbours: no ARP chatter reaches the handlers.
    run('ip', ['-n', dut.ns, 'neigh', 'replace', peer.ipv4, 'lladdr', peer.mac, 'dev', dut.ifname, 'nud', 'permanent']);
    run('ip', ['-n', peer.ns, 'neigh', 'replace', dut.ipv4, 'lladdr', dut.mac, 'dev', peer.ifname, 'nud', 'permanent']);
  }

  /** Run a command inside one end's namespace; returns its stdout. */
  exec(end: LabEnd, cmd: string, args: string[]): string {
    return inNs(end.ns, cmd, args);
  }

  /** XDP program attached to an end, as `ip link` reports it (null if none). */
  xdpProgramId(end: LabEnd): number | null {
    const out = run('ip', ['-n', end.ns, '-d', '-j', 'link', 'show', 'dev', end.ifname]);
    const [link] = JSON.parse(out) as Array<{ xdp?: { prog?: { id: number }; attached?: Array<{ prog?: { id: number } }> } }>;
    const xdp = link?.xdp;
    if (!xdp) return null;
    return xdp.prog?.id ?? xdp.attached?.[0]?.prog?.id ?? null;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** Delete both namespaces (and with them the veth pair). Safe to call twice. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    liveLabs.delete(this);
    for (const ns of [this.dut.ns, this.peer.ns]) {
      try {
        run('ip', ['netns', 'del', ns]);
      } catch {
        // Not created (failed build) or already gone.
      }
    }
  }

  [Symbol.dispose](): void {
    this.destroy();
  }
}

// Whatever happens to the process (a failing test, an uncaught error),
// its labs go with it. SIGKILL is the one case left to the next run's sweep.
process.on('exit', () => {
  for (const lab of [...liveLabs]) lab.destroy();
});

let signalsWatched = false;

/**
 * SIGINT, SIGTERM and SIGHUP end a Node process without its 'exit'
 * handlers unless somebody listens (`timeout` killing a script, Ctrl-C).
 * While a lab lives, listen: when no one else handles the signal, remove
 * the labs and die of the signal as before. A program with its own handler
 * (the daemon) decides for itself and exits normally, which the 'exit'
 * handler covers.
 */
function removeLabsOnSignals(): void {
  if (signalsWatched || !isMainThread) return;
  signalsWatched = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      if (process.listenerCount(signal) > 1) return;
      for (const lab of [...liveLabs]) lab.destroy();
      process.removeListener(signal, onSignal);
      process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

/** Delete labs left behind by processes that no longer exist (after SIGKILL). */
export function sweepStaleLabs(): string[] {
  const removed: string[] = [];
  let names: string[] = [];
  try {
    names = run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  } catch {
    return removed;
  }
  for (const ns of names) {
    const m = /^afxdp-(\d+)-\d+-(dut|peer)$/.exec(ns);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch {
      alive = false;
    }
    if (!alive) {
      try {
        run('ip', ['netns', 'del', ns]);
        removed.push(ns);
      } catch {
        // Raced with another sweeper.
      }
    }
  }
  return removed;
}
