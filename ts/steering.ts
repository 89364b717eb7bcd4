/**
 * The kernel fast path of a port's interface: steering rules (what reaches
 * AF_XDP, what the kernel stack keeps, what XDP drops), the kernel drop list
 * and offloaded flows. All of it lives in the XDP program's maps and is
 * shared by every port on the interface; these objects are views of it.
 */
import { native } from './errors.js';
import type { NativeUmem } from './native.js';
import { binding } from './native.js';
import { reachabilityWarnings, steerRuleSet, type RuleSet, type SteerAction } from './steer/index.js';

export interface RuleCounter {
  /** Position of the rule in the set; -1 for the default action. */
  rule: number;
  name?: string;
  action: SteerAction;
  packets: number;
  bytes: number;
}

/** A rule set, or a `--steer` expression (matching packets are steered, the rest passed). */
export type SteerSpec = RuleSet | string;

export function toRuleSet(spec: SteerSpec): RuleSet {
  return typeof spec === 'string' ? steerRuleSet(spec) : spec;
}

/** What the steering program would do with each frame: see {@link steerTestRun}. */
export type FrameVerdict = SteerAction;

/**
 * Runs the real steering program, loaded but attached to no interface,
 * over `frames` with `spec` in force (BPF_PROG_RUN) and returns what it
 * would do with each. For checking a rule set against a capture before
 * deploying it. Needs CAP_BPF and CAP_NET_ADMIN; touches no interface.
 */
export function steerTestRun(spec: SteerSpec, frames: readonly Uint8Array[]): FrameVerdict[] {
  const lengths = Uint32Array.from(frames, (f) => f.length);
  const bytes = Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.length)));
  return native(() => binding.steerTestRun(JSON.stringify(toRuleSet(spec)), bytes, lengths)) as FrameVerdict[];
}

/** `port.rules`: read and change the interface's steering rules at runtime. */
export class PortRules {
  readonly #umem: NativeUmem;
  readonly #port: number;

  /** @internal */
  constructor(umem: NativeUmem, port: number) {
    this.#umem = umem;
    this.#port = port;
  }

  /** The rule set in force. A fresh attachment steers everything. */
  get(): RuleSet {
    return JSON.parse(native(() => this.#umem.rules(this.#port))) as RuleSet;
  }

  /**
   * Replace the rule set, atomically for packets in flight: each frame is
   * classified by the old set or by the new one, never a mixture (a call
   * waits for two RCU grace periods, so it takes tens of milliseconds). Rule counters restart at zero. A set that
   * would steer or drop ARP or IPv6 neighbour discovery is installed, with
   * a process warning (code AFXDP_STEER_REACHABILITY) saying how to fix it.
   */
  set(spec: SteerSpec): void {
    const rules = toRuleSet(spec);
    const json = JSON.stringify(rules);
    native(() => this.#umem.setRules(this.#port, json));
    for (const w of reachabilityWarnings(rules, typeof spec === 'string' ? spec : undefined)) {
      process.emitWarning(w.message, { code: 'AFXDP_STEER_REACHABILITY' });
    }
  }

  /** Packets and bytes each rule (and the default, rule -1) decided since the last `set`. */
  counters(): RuleCounter[] {
    return native(() => this.#umem.ruleCounters(this.#port)).map((c) => {
      const counter: RuleCounter = { rule: c.rule, action: c.action as SteerAction, packets: c.packets, bytes: c.bytes };
      if (c.name != null) counter.name = c.name;
      return counter;
    });
  }
}

export interface BlockOptions {
  /** Seconds until the entry expires (default: never). */
  ttl?: number;
}

export interface BlockEntry {
  prefix: string;
  /** Seconds left, or null when it never expires. */
  expiresIn: number | null;
  packets: number;
  bytes: number;
}

export interface OffloadEntry {
  protocol: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  action: 'drop' | 'pass';
  expiresIn: number | null;
  packets: number;
  bytes: number;
}

const seconds = (ms: number) => (ms < 0 ? null : ms / 1000);
const ttlMs = (ttl: number | undefined) => {
  if (ttl === undefined) return undefined;
  if (!(typeof ttl === 'number' && ttl > 0 && Number.isFinite(ttl))) {
    throw new RangeError(`ttl must be a positive number of seconds, got ${String(ttl)}`);
  }
  return ttl * 1000;
};

/** `port.kernel`: the drop list and offloaded flows, decided in XDP without reaching JS. */
export class KernelFastPath {
  readonly #umem: NativeUmem;
  readonly #port: number;

  /** @internal */
  constructor(umem: NativeUmem, port: number) {
    this.#umem = umem;
    this.#port = port;
  }

  /** Drop every frame from a source prefix ("198.51.100.0/24", "2001:db8::/32", a host) in XDP. */
  block(prefix: string, options: BlockOptions = {}): void {
    const ttl = ttlMs(options.ttl);
    native(() => this.#umem.block(this.#port, prefix, ttl));
  }

  /** Remove a prefix from the drop list; false if it was not there. */
  unblock(prefix: string): boolean {
    return native(() => this.#umem.unblock(this.#port, prefix));
  }

  /** The drop list with a counter per entry. */
  blocked(): BlockEntry[] {
    return native(() => this.#umem.blocked(this.#port)).map((e) => ({
      prefix: e.prefix, expiresIn: seconds(e.expiresInMs), packets: e.packets, bytes: e.bytes,
    }));
  }

  /** Flows given a kernel verdict with `packet.offload`. */
  offloads(): OffloadEntry[] {
    return native(() => this.#umem.offloads(this.#port)).map((e) => ({
      protocol: e.proto, src: e.src, dst: e.dst, srcPort: e.srcPort, dstPort: e.dstPort,
      action: e.action as 'drop' | 'pass', expiresIn: seconds(e.expiresInMs), packets: e.packets, bytes: e.bytes,
    }));
  }

  clearOffloads(): void {
    native(() => this.#umem.clearOffloads(this.#port));
  }

  /** @internal Used by packet.offload. */
  offloadFrame(bytes: Uint8Array, action: 'drop' | 'pass', ttl: number | undefined): boolean {
    const ms = ttlMs(ttl);
    return native(() => this.#umem.offloadFrame(this.#port, bytes, action, ms));
  }
}
