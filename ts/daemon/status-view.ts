/**
 * The daemon's live status: a refreshing block of lines (one per port) on a
 * terminal, plain key=value log lines otherwise.
 */
import type { PortStats } from '../port.js';
import type { BatchTiming, WorkerStats } from './protocol.js';

export interface Row {
  interface: string;
  queue: number;
  rx: number;
  tx: number;
  forwarded: number;
  passed: number;
  dropped: number;
  handlerErrors: number;
  fillRingEmpty: number;
  rxRingFull: number;
  rxDropped: number;
  rxPps: number;
  txPps: number;
  fwdPps: number;
  passPps: number;
  dropPps: number;
  /**
   * Handler time per frame, in nanoseconds: over the interval between the
   * two snapshots, or since the start without a previous one; NaN when no
   * frame was handled in that time.
   */
  handlerNsPerPacket: number;
}

function key(s: PortStats | BatchTiming): string {
  return `${s.interface}/${s.queue}`;
}

/** Rows from two snapshots `seconds` apart (rates are 0 without a previous one). */
export function rows(current: WorkerStats[], previous: WorkerStats[] | null, seconds: number): Row[] {
  const before = new Map<string, PortStats>();
  const batchesBefore = new Map<string, BatchTiming>();
  for (const w of previous ?? []) {
    for (const p of w.ports) before.set(key(p), p);
    for (const t of w.batches) batchesBefore.set(key(t), t);
  }
  const out: Row[] = [];
  for (const w of current) {
    const timing = new Map(w.batches.map((t) => [key(t), t]));
    for (const p of w.ports) {
      const b = before.get(key(p));
      const t = timing.get(key(p));
      const tb = previous ? batchesBefore.get(key(p)) : undefined;
      const frames = (t?.frames ?? 0) - (tb?.frames ?? 0);
      const rate = (now: number, then: number | undefined) => (b && seconds > 0 ? Math.max(0, (now - (then ?? 0)) / seconds) : 0);
      out.push({
        interface: p.interface,
        queue: p.queue,
        rx: p.rx,
        tx: p.tx,
        forwarded: p.forwarded,
        passed: p.passed ?? 0,
        dropped: p.dropped,
        handlerErrors: p.handlerErrors,
        fillRingEmpty: p.xdp.rxFillRingEmptyDescs,
        rxRingFull: p.xdp.rxRingFull,
        rxDropped: p.xdp.rxDropped,
        rxPps: rate(p.rx, b?.rx),
        txPps: rate(p.tx, b?.tx),
        fwdPps: rate(p.forwarded, b?.forwarded),
        passPps: rate(p.passed ?? 0, b?.passed),
        dropPps: rate(p.dropped, b?.dropped),
        handlerNsPerPacket: frames > 0 ? ((t?.handlerNs ?? 0) - (tb?.handlerNs ?? 0)) / frames : NaN,
      });
    }
  }
  out.sort((a, b) => (a.interface === b.interface ? a.queue - b.queue : a.interface < b.interface ? -1 : 1));
  return out;
}

/** The interface's XDP program counters (interface-wide, not per queue). */
export interface SteeringRow {
  interface: string;
  steered: number;
  passed: number;
  dropped: number;
  blocked: number;
  offloadHits: number;
  noSocket: number;
  malformed: number;
  steeredPps: number;
  passedPps: number;
  droppedPps: number;
}

type Steering = PortStats['steering'];

/**
 * The steering counters per interface, from one port of each (the lowest
 * queue): they belong to the interface's program, so every port reports
 * the same numbers and summing over queues would count them several times.
 */
export function steeringByInterface(stats: WorkerStats[]): Map<string, Steering> {
  const out = new Map<string, { queue: number; steering: Steering }>();
  for (const w of stats) {
    for (const p of w.ports) {
      if (!p.steering) continue;
      const seen = out.get(p.interface);
      if (!seen || p.queue < seen.queue) out.set(p.interface, { queue: p.queue, steering: p.steering });
    }
  }
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, v.steering]));
}

/** One row per interface from two snapshots `seconds` apart (rates are 0 without a previous one). */
export function steeringRows(current: WorkerStats[], previous: WorkerStats[] | null, seconds: number): SteeringRow[] {
  const before = previous ? steeringByInterface(previous) : new Map<string, Steering>();
  const out: SteeringRow[] = [];
  for (const [ifname, k] of steeringByInterface(current)) {
    const b = before.get(ifname);
    const rate = (now: number, then: number | undefined) => (b && seconds > 0 ? Math.max(0, (now - (then ?? 0)) / seconds) : 0);
    out.push({
      interface: ifname,
      steered: k.steeredPackets,
      passed: k.passedPackets,
      dropped: k.droppedPackets,
      blocked: k.blocked,
      offloadHits: k.offloadHits,
      noSocket: k.noSocket,
      malformed: k.malformed,
      steeredPps: rate(k.steeredPackets, b?.steeredPackets),
      passedPps: rate(k.passedPackets, b?.passedPackets),
      droppedPps: rate(k.droppedPackets, b?.droppedPackets),
    });
  }
  return out;
}

/** 1234567 -> "1.23M". */
export function si(n: number): string {
  if (n < 1000) return String(Math.round(n));
  const units = ['k', 'M', 'G', 'T'];
  let v = n;
  let u = -1;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)}${units[u]}`;
}

/** Handler ns per frame for display: "-" when no frame was handled. */
function nsText(ns: number): string {
  return Number.isFinite(ns) ? String(Math.round(ns)) : '-';
}

/** One human line per port, for the terminal. */
export function terminalLine(r: Row): string {
  const health = r.fillRingEmpty || r.rxRingFull || r.rxDropped
    ? ` ! fill-empty ${si(r.fillRingEmpty)} rx-full ${si(r.rxRingFull)} rx-dropped ${si(r.rxDropped)}`
    : ' rings ok';
  return `${`${r.interface} q${r.queue}`.padEnd(10)} ${si(r.rxPps).padStart(5)} pkt/s ` +
    `tx ${si(r.txPps).padStart(5)}/s fwd ${si(r.fwdPps).padStart(5)}/s ${r.passed ? `pass ${si(r.passPps).padStart(5)}/s ` : ''}drop ${si(r.dropPps).padStart(5)}/s ` +
    `err ${si(r.handlerErrors)} rx ${si(r.rx)} handler ${nsText(r.handlerNsPerPacket).padStart(4)} ns/pkt${health}`;
}

/** One human line per interface: what its XDP program did with the frames. */
export function steeringTerminalLine(r: SteeringRow): string {
  return `${`${r.interface} xdp`.padEnd(10)} steered ${si(r.steeredPps).padStart(5)}/s passed ${si(r.passedPps).padStart(5)}/s ` +
    `dropped ${si(r.droppedPps).padStart(5)}/s (blocked ${si(r.blocked)}) offload-hits ${si(r.offloadHits)}` +
    `${r.noSocket ? ` no-socket ${si(r.noSocket)}` : ''}${r.malformed ? ` malformed ${si(r.malformed)}` : ''}`;
}

/** One key=value line per interface for logs, `IF/xdp` in the place of `IF/QUEUE`. */
export function steeringLogLine(r: SteeringRow, when = new Date()): string {
  return `${when.toISOString()} ${r.interface}/xdp steered=${r.steered} passed=${r.passed} dropped=${r.dropped} ` +
    `blocked=${r.blocked} offload_hits=${r.offloadHits} no_socket=${r.noSocket} malformed=${r.malformed} ` +
    `steered_pps=${Math.round(r.steeredPps)}`;
}

/** One key=value line per port, for logs (stable field names, easy to grep or parse). */
export function logLine(r: Row, when = new Date()): string {
  return `${when.toISOString()} ${r.interface}/${r.queue} rx=${r.rx} tx=${r.tx} fwd=${r.forwarded} pass=${r.passed} drop=${r.dropped} ` +
    `err=${r.handlerErrors} rx_pps=${Math.round(r.rxPps)} handler_ns=${nsText(r.handlerNsPerPacket)} ` +
    `fill_empty=${r.fillRingEmpty} rx_full=${r.rxRingFull} rx_dropped=${r.rxDropped}`;
}

/** Parse a logLine (queue: a number) or a steeringLogLine (queue: "xdp") back (tests and scripts). */
export function parseLogLine(line: string): Record<string, string> | null {
  const m = /^\S+ (\S+)\/(\d+|xdp) (.*)$/.exec(line.trim());
  if (!m) return null;
  const out: Record<string, string> = { interface: m[1]!, queue: m[2]! };
  for (const kv of m[3]!.split(' ')) {
    const [k, v] = kv.split('=');
    if (k && v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * A block of lines redrawn in place on a terminal; log lines printed
 * through `log` go above it.
 */
export class LiveBlock {
  #lines = 0;
  constructor(private readonly out: NodeJS.WriteStream) {}

  render(lines: string[]): void {
    const width = this.out.columns ?? 120;
    let s = this.#clear();
    for (const l of lines) s += `${l.length > width - 1 ? l.slice(0, width - 1) : l}\n`;
    this.#lines = lines.length;
    this.out.write(s);
  }

  /** A log line (to `err`, stderr by default), printed above the block. */
  log(line: string, err: NodeJS.WritableStream = process.stderr): void {
    const s = this.#clear();
    this.#lines = 0;
    if (s) this.out.write(s);
    err.write(`${line}\n`);
  }

  #clear(): string {
    // Cursor up over the block, then clear to the end of the screen.
    return this.#lines > 0 ? `\x1b[${this.#lines}F\x1b[J` : '';
  }

  /** Forget the block (leave it on screen as it is). */
  release(): void {
    this.#lines = 0;
  }
}
