/**
 * Side-by-side measurement of a TypeScript handler against the native
 * ceiling (a Rust-only consumer of the same rings doing the same work),
 * under the XDP live-frame generator. Used by `npm run bench` and
 * `afxdp bench`. Windows alternate (native, handler, native, ...) so drift
 * on a noisy machine hits both alike.
 */
import { AfxdpError, native } from './errors.js';
import { binding } from './native.js';
import { parseMac } from './packet/addr.js';
import type { Handler, Port, RunOptions } from './port.js';

export type NativeWork = 'drop' | 'swap-mac-tx';

/**
 * The benchmark frame: 64 bytes on the wire (60 without FCS), IPv4/UDP
 * 192.0.2.2:40000 -> 192.0.2.1:9 with its checksums left at zero. On
 * purpose: frames a handler sends back then die at the peer's first IP
 * check, so the peer's stack (sharing the consumer's CPU for copy-mode TX)
 * does as little as possible and the figures measure our path.
 */
export function benchFrame(dstMac: string, srcMac: string): Uint8Array {
  const f = new Uint8Array(60);
  f.set(parseMac(dstMac), 0);
  f.set(parseMac(srcMac), 6);
  f.set([0x08, 0x00, 0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1], 12);
  f.set([0x9c, 0x40, 0, 9, 0, 26, 0, 0], 34);
  return f;
}

export interface WindowResult {
  frames: number;
  /** Frames put on the TX ring (Tx verdicts) in the window. */
  tx?: number;
  seconds: number;
  /** CPU time of the consuming thread. */
  cpuNs: number;
  /** Batches handed to the handler (TypeScript windows only). */
  batches?: number;
  /** Time spent inside the handler calls (TypeScript windows only). */
  handlerNs?: number;
}

export interface Comparison {
  handler: WindowResult[];
  native: WindowResult[];
  /** Median frames/s of each. */
  handlerFps: number;
  nativeFps: number;
  /** handlerFps / nativeFps. */
  ratio: number;
  /** Median CPU ns per packet of the consuming thread. */
  handlerCpuNsPerPacket: number;
  nativeCpuNsPerPacket: number;
  /** Median frames per batch and ns per packet inside the handler calls (TypeScript side). */
  handlerBatchSize: number;
  handlerCallNsPerPacket: number;
}

export interface TrafficOptions {
  /** Namespace to send from (the lab's peer). */
  netns?: string;
  /** Interface to send out of. */
  interface: string;
  frame: Uint8Array;
  udpSrcPorts?: number;
  /** Pin the generator thread to this CPU. */
  cpu?: number;
  /**
   * Milliseconds one kernel run of the generator lasts (default 200). It
   * pauses about 25 ms between runs, idle time for a consumer that blocks
   * when its ring is empty; benchmarks use BENCH_CHUNK_MS (1000).
   */
  chunkMs?: number;
}

/** `ms` if it is a usable generator run length, else an ERR_INVALID_OPTION naming `name`. */
function checkChunkMs(ms: number, name: string, given: unknown = ms): number {
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) {
    throw new AfxdpError('ERR_INVALID_OPTION', `${name} must be a whole number of milliseconds from 1 to 60000, got ${String(given)}`);
  }
  return ms;
}

/** The generator run length benchmarks use (BENCH_CHUNK_MS, default 1000). */
export function benchChunkMs(): number {
  const raw = process.env.BENCH_CHUNK_MS;
  return checkChunkMs(Number(raw ?? 1000), 'BENCH_CHUNK_MS', raw);
}

/** A live-frame generator run on its own thread; stop() it and await done(). */
export function startTraffic(options: TrafficOptions, seconds: number) {
  const init: Parameters<typeof binding.startTraffic>[0] = { interface: options.interface, frame: options.frame };
  if (options.netns !== undefined) init.netns = options.netns;
  if (options.udpSrcPorts !== undefined) init.udpSrcPorts = options.udpSrcPorts;
  if (options.cpu !== undefined) init.cpu = options.cpu;
  if (options.chunkMs !== undefined) init.chunkMs = checkChunkMs(options.chunkMs, 'chunkMs');
  return native(() => binding.startTraffic(init, seconds));
}

/** Pin the calling thread to one CPU. */
export function pinThread(cpu: number): void {
  native(() => binding.pinThread(cpu));
}

export function threadCpuNs(): number {
  return binding.threadCpuNs();
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Run `handler` on `port` for `ms` and measure it. */
export async function measureHandler(port: Port, handler: Handler, ms: number, runOptions: Pick<RunOptions, 'spinMicros'> = {}): Promise<WindowResult> {
  const ac = new AbortController();
  const s0 = port.stats();
  const cpu0 = threadCpuNs();
  const t0 = process.hrtime.bigint();
  const timer = setTimeout(() => ac.abort(), ms);
  const batchTotals = { batches: 0, handlerNs: 0 };
  const onBatch = (_frames: number, ns: number) => {
    batchTotals.batches++;
    batchTotals.handlerNs += ns;
  };
  await port.run(handler, { ...runOptions, signal: ac.signal, onBatch });
  clearTimeout(timer);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpuNs = threadCpuNs() - cpu0;
  const s1 = port.stats();
  return { frames: s1.rx - s0.rx, tx: s1.tx - s0.tx, seconds, cpuNs, ...batchTotals };
}

/** Run the native consumer on `port` for `ms` (blocks this thread) and measure it. */
export function measureNative(port: Port, work: NativeWork, ms: number): WindowResult {
  const tx0 = port.stats().tx;
  const r = native(() => port.umem.native.benchNative(port.index, work, port.batchSize, ms));
  return { frames: r.frames, tx: port.stats().tx - tx0, seconds: r.seconds, cpuNs: r.threadCpuNs };
}

/** Alternate native and handler windows `rounds` times and compare medians. */
export async function compare(port: Port, handler: Handler, work: NativeWork, options: { rounds: number; windowMs: number }): Promise<Comparison> {
  const handlerRuns: WindowResult[] = [];
  const nativeRuns: WindowResult[] = [];
  // Warm-up: JIT and rings.
  await measureHandler(port, handler, 200);
  measureNative(port, work, 200);
  for (let i = 0; i < options.rounds; i++) {
    nativeRuns.push(measureNative(port, work, options.windowMs));
    handlerRuns.push(await measureHandler(port, handler, options.windowMs));
  }
  const fps = (r: WindowResult) => r.frames / r.seconds;
  const cpp = (r: WindowResult) => (r.frames > 0 ? r.cpuNs / r.frames : Infinity);
  const handlerFps = median(handlerRuns.map(fps));
  const nativeFps = median(nativeRuns.map(fps));
  return {
    handler: handlerRuns,
    native: nativeRuns,
    handlerFps,
    nativeFps,
    ratio: handlerFps / nativeFps,
    handlerCpuNsPerPacket: median(handlerRuns.map(cpp)),
    nativeCpuNsPerPacket: median(nativeRuns.map(cpp)),
    handlerBatchSize: median(handlerRuns.map((r) => r.frames / (r.batches || 1))),
    handlerCallNsPerPacket: median(handlerRuns.map((r) => (r.handlerNs ?? 0) / (r.frames || 1))),
  };
}
