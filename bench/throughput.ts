/**
 * The data-path throughput benchmark (`npm run bench`): one queue, the XDP
 * live-frame generator in the peer namespace, and on the lab's other end, in
 * alternating windows of one run:
 *   - a TypeScript handler (port.run),
 *   - the native ceiling (a Rust-only consumer of the same rings, same work),
 *   - DPDK's testpmd with the net_af_xdp PMD (rxonly / macswap), if installed.
 * The order of the three rotates every round so drift hits all alike.
 * testpmd needs the queue and the interface's XDP hook for itself, so our
 * port is closed for its windows and opened again after.
 */
import { open, Verdict, type Handler, type OpenOptions, type Port } from '../ts/index.js';
import { measureHandler, measureNative, type NativeWork, type WindowResult } from '../ts/bench.js';
import { findTestpmd, testpmdWindow, type TestpmdMode } from './testpmd.js';
import { coreShare, formatShare, medianShare, type CoreShare } from './core-share.js';

export interface Case {
  name: string;
  handler: Handler;
  work: NativeWork;
  testpmd: TestpmdMode;
  /** Count frames sent back (Tx) instead of frames received. */
  countTx: boolean;
}

export interface Side {
  windows: WindowResult[];
  /** Median frames/s and CPU ns per frame. */
  fps: number;
  cpuNsPerPacket: number;
  /** The consumer CPU's time during the windows (medians per field). */
  core: CoreShare | null;
}

export interface CaseResult {
  ts: Side;
  native: Side;
  dpdk: Side | null;
}

let etherTypes = 0;

export const CASES: Case[] = [
  {
    name: 'read EtherType, drop',
    handler: (p) => {
      etherTypes = (etherTypes ^ p.u16(12)) | 1; // stays a small integer: no allocation
      return Verdict.Drop;
    },
    work: 'drop',
    testpmd: 'rxonly',
    countTx: false,
  },
  {
    name: 'swap MACs, Verdict.Tx',
    handler: (p) => {
      p.swapMacs();
      return Verdict.Tx;
    },
    work: 'swap-mac-tx',
    testpmd: 'macswap',
    countTx: true,
  },
];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function side(windows: WindowResult[], countTx: boolean, cores: CoreShare[]): Side {
  const frames = (w: WindowResult) => (countTx ? (w.tx ?? w.frames) : w.frames);
  return {
    windows,
    fps: median(windows.map((w) => frames(w) / w.seconds)),
    cpuNsPerPacket: median(windows.map((w) => (frames(w) > 0 ? w.cpuNs / frames(w) : Infinity))),
    core: medianShare(cores),
  };
}

export interface ThroughputOptions {
  dut: { ns: string; ifname: string };
  consumerCpu: number;
  mainCpu: number;
  rounds: number;
  windowMs: number;
  portOptions: Omit<OpenOptions, 'interface'>;
  /** Leave testpmd out even if installed. */
  noDpdk?: boolean;
  /** The TypeScript windows' run({ spinMicros }) (--spin-micros): re-poll an empty ring before sleeping. */
  spinMicros?: number;
}

export async function runCase(c: Case, o: ThroughputOptions): Promise<CaseResult> {
  const testpmd = o.noDpdk ? null : findTestpmd();
  let port: Port | null = null;
  const ensurePort = async () => {
    if (port) return port;
    port = await open({ interface: o.dut.ifname, ...o.portOptions });
    // Warm-up after each open: rings, caches, and the JIT the first time.
    await measureHandler(port, c.handler, 200, { spinMicros: o.spinMicros ?? 0 });
    measureNative(port, c.work, 100);
    return port;
  };
  const closePort = async () => {
    if (port) await port.close();
    port = null;
  };
  const ts: WindowResult[] = [];
  const nat: WindowResult[] = [];
  const dpdk: WindowResult[] = [];
  const cores = { ts: [] as CoreShare[], native: [] as CoreShare[], dpdk: [] as CoreShare[] };
  const steps: Array<() => Promise<void>> = [
    async () => {
      const p = await ensurePort();
      const core = coreShare(o.consumerCpu);
      nat.push(measureNative(p, c.work, o.windowMs));
      cores.native.push(core());
    },
    async () => {
      const p = await ensurePort();
      const core = coreShare(o.consumerCpu);
      ts.push(await measureHandler(p, c.handler, o.windowMs, { spinMicros: o.spinMicros ?? 0 }));
      cores.ts.push(core());
    },
  ];
  if (testpmd) {
    steps.push(async () => {
      await closePort();
      const w = await testpmdWindow(testpmd, { netns: o.dut.ns, iface: o.dut.ifname, mode: c.testpmd, cpu: o.consumerCpu, mainCpu: o.mainCpu, burst: o.portOptions.batchSize ?? 64 }, o.windowMs);
      dpdk.push({ frames: w.rxPackets, tx: w.txPackets, seconds: w.seconds, cpuNs: w.cpuNs });
      cores.dpdk.push(w.core);
    });
  }
  try {
    for (let r = 0; r < o.rounds; r++) {
      for (let i = 0; i < steps.length; i++) await steps[(i + r) % steps.length]!();
    }
  } finally {
    await closePort();
  }
  return { ts: side(ts, c.countTx, cores.ts), native: side(nat, c.countTx, cores.native), dpdk: testpmd ? side(dpdk, c.countTx, cores.dpdk) : null };
}

export function printThroughput(results: Array<[Case, CaseResult]>): void {
  const mpps = (x: number) => (x / 1e6).toFixed(3);
  const ratio = (a: number, b: number | undefined) => (b === undefined ? 'absent' : (a / b).toFixed(3));
  console.log('| handler | TS Mpps | native Mpps | testpmd Mpps | TS/native | TS/testpmd | TS CPU ns/pkt | native CPU ns/pkt | testpmd CPU ns/pkt |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const [c, r] of results) {
    console.log(`| ${c.name} | ${mpps(r.ts.fps)} | ${mpps(r.native.fps)} | ${r.dpdk ? mpps(r.dpdk.fps) : 'absent'} | ${ratio(r.ts.fps, r.native.fps)} | ${ratio(r.ts.fps, r.dpdk?.fps)} | ${r.ts.cpuNsPerPacket.toFixed(1)} | ${r.native.cpuNsPerPacket.toFixed(1)} | ${r.dpdk ? r.dpdk.cpuNsPerPacket.toFixed(1) : 'absent'} |`);
  }
  console.log('');
  console.log('Consumer CPU during the windows, % user/system/softirq/idle (/proc/stat, medians):');
  console.log('');
  console.log('| handler | TS | native | testpmd |');
  console.log('|---|---|---|---|');
  for (const [c, r] of results) {
    console.log(`| ${c.name} | ${formatShare(r.ts.core)} | ${formatShare(r.native.core)} | ${r.dpdk ? formatShare(r.dpdk.core) : 'absent'} |`);
  }
}

/** Keeps the drop handler's read observable. */
export function checksum(): boolean {
  return etherTypes > 0;
}
