/**
 * Running a handler offline, with no root and no NIC: the engine of
 * `afxdp replay` and a test API for handlers.
 *
 *   import { runHandler } from 'afxdp';
 *   const r = runHandler(handler, [frame1, frame2]);
 *   assert.deepEqual(r.verdicts, ['tx', 'drop']);
 *   assert.deepEqual(r.outcomes[0].frame, expectedBytes);
 *
 * Each frame is placed in a frame buffer the way the data path places it
 * (after 256 bytes of headroom in a 4096-byte frame), so `packet.room`,
 * `setLength` and every accessor behave as they do live. A frame larger
 * than that (a jumbo frame) is split the way a multi-buffer port receives
 * it: one segment per frame, each after the headroom, so `packet.segments`,
 * `bytes` (the first segment) and the accessors match a live run. Verdicts follow
 * the live rules: a handler that throws or returns something that is not a
 * verdict counts as a handler error and the frame is dropped.
 */
import { MAX_SEGMENTS, Packet, type PacketOwner } from './packet-view.js';
import { Verdict, VERDICT_FORWARD_BASE } from './verdict.js';
import type { Handler } from './port.js';

export type VerdictName = 'drop' | 'tx' | 'forward' | 'pass';

export interface FrameOutcome {
  /** Index of the input frame. */
  index: number;
  verdict: VerdictName;
  /** Interface the frame arrived on. */
  in: string;
  /** Interface it was sent out of (tx: the same; forward: the target; drop, pass: null). */
  out: string | null;
  /** The frame as the handler left it (a copy), for tx, forward and pass; null for drop. */
  frame: Uint8Array | null;
  /** Why the frame was dropped, when the handler failed on it. */
  error?: string;
}

export interface RunHandlerResult {
  outcomes: FrameOutcome[];
  /** The verdict of every input frame, in order. */
  verdicts: VerdictName[];
  /** The frames sent (tx and forward), in order, as edited. */
  sent: Uint8Array[];
  counts: { frames: number; tx: number; forward: number; drop: number; pass: number; handlerErrors: number };
}

export interface RunHandlerOptions {
  /** Port names: frames arrive on the first unless a frame says otherwise (default ['eth0']). */
  interfaces?: string[];
  /** Queue the ports pretend to be (default 0). */
  queue?: number;
  /** Frame size of the simulated UMEM: 2048 or 4096 (default 4096). */
  frameSize?: 2048 | 4096;
  /** Bytes before the frame's data, as AF_XDP puts them (default 256). */
  headroom?: number;
}

/** A frame to run: bytes, or bytes and the interface they arrive on. */
export type FrameInput = Uint8Array | { data: Uint8Array; interface?: string };

let nextFakeUmem = -1;

/** What a handler's `packet.port` and `ctx.ports` hold in an offline run. */
export interface OfflinePort extends PacketOwner {
  readonly offline: true;
}

/**
 * The reusable engine: ports that share one simulated UMEM (so
 * `packet.forward(harness.ports.eth1)` works) and one frame buffer.
 */
export class HandlerHarness {
  readonly ports: Record<string, OfflinePort> = {};
  readonly interfaces: string[];
  readonly #packets = new Map<string, Packet>();
  readonly #byIndex: OfflinePort[] = [];
  readonly #buffer: Uint8Array;
  readonly #headroom: number;
  readonly #frameSize: number;
  /** Segments of the current frame when it spans several (as `rxChains` lists them). */
  readonly #chain = new Uint32Array(1 + 2 * MAX_SEGMENTS);
  #index = 0;
  readonly counts = { frames: 0, tx: 0, forward: 0, drop: 0, pass: 0, handlerErrors: 0 };

  constructor(options: RunHandlerOptions = {}) {
    this.interfaces = options.interfaces?.length ? [...options.interfaces] : ['eth0'];
    this.#frameSize = options.frameSize ?? 4096;
    this.#headroom = options.headroom ?? 256;
    if (this.#frameSize !== 2048 && this.#frameSize !== 4096) throw new RangeError('frameSize must be 2048 or 4096');
    if (!(this.#headroom >= 0 && this.#headroom < this.#frameSize - 256)) throw new RangeError('headroom too large for the frame size');
    this.#buffer = new Uint8Array(this.#frameSize * MAX_SEGMENTS);
    const umemId = nextFakeUmem--;
    this.interfaces.forEach((name, index) => {
      const port: OfflinePort = { offline: true, umemId, index, interface: name, queue: options.queue ?? 0 };
      this.ports[name] = port;
      this.#byIndex.push(port);
      this.#packets.set(name, new Packet(this.#buffer, this.#frameSize, port));
    });
  }

  /** Most bytes of one segment (a frame larger than this spans several). */
  get room(): number {
    return this.#frameSize - this.#headroom;
  }

  /** Most bytes a frame may have (as many segments as a multi-buffer frame can have). */
  get maxLength(): number {
    return this.room * MAX_SEGMENTS;
  }

  /** Run `handler` on one frame arriving on `inInterface` (default: the first port). */
  run(handler: Handler, data: Uint8Array, inInterface: string = this.interfaces[0]!): FrameOutcome {
    const packet = this.#packets.get(inInterface);
    if (!packet) throw new RangeError(`no port named '${inInterface}' (ports: ${this.interfaces.join(', ')})`);
    if (data.length > this.maxLength) throw new RangeError(`frame of ${data.length} bytes does not fit ${MAX_SEGMENTS} ${this.#frameSize}-byte frames after ${this.#headroom} bytes of headroom each`);
    const index = this.#index++;
    this.counts.frames++;
    this.#place(packet, data);
    try {
      let verdict: unknown;
      let error: string | undefined;
      try {
        verdict = handler(packet);
        if (typeof verdict !== 'number' || !Number.isInteger(verdict) || verdict < 0) {
          error = `handler returned ${typeof verdict === 'number' ? verdict : typeof verdict}, not a verdict`;
        } else if (verdict !== Verdict.Pass && verdict >= VERDICT_FORWARD_BASE && !this.#byIndex[verdict - VERDICT_FORWARD_BASE]) {
          error = `forward verdict ${verdict} names no port`;
        }
      } catch (err) {
        error = `handler threw: ${(err as Error)?.message ?? String(err)}`;
      }
      if (error !== undefined) {
        this.counts.handlerErrors++;
        this.counts.drop++;
        return { index, verdict: 'drop', in: inInterface, out: null, frame: null, error };
      }
      if (verdict === Verdict.Drop) {
        this.counts.drop++;
        return { index, verdict: 'drop', in: inInterface, out: null, frame: null };
      }
      const frame = new Uint8Array(packet.length);
      packet.readBytes(0, frame);
      if (verdict === Verdict.Tx) {
        this.counts.tx++;
        return { index, verdict: 'tx', in: inInterface, out: inInterface, frame };
      }
      if (verdict === Verdict.Pass) {
        // To the kernel stack of the interface it came in on, as edited.
        this.counts.pass++;
        return { index, verdict: 'pass', in: inInterface, out: null, frame };
      }
      this.counts.forward++;
      return { index, verdict: 'forward', in: inInterface, out: this.#byIndex[(verdict as number) - VERDICT_FORWARD_BASE]!.interface, frame };
    } finally {
      // Offline runs always invalidate the packet after the call (as a port
      // does in debug mode), so a unit test catches a handler that keeps it.
      packet._release();
    }
  }

  /** Put `data` in the buffer as a port receives it: one segment, or a chain. */
  #place(packet: Packet, data: Uint8Array): void {
    const room = this.room;
    const segs = Math.max(1, Math.ceil(data.length / room));
    this.#buffer.fill(0, 0, segs * this.#frameSize);
    const chain = this.#chain;
    chain[0] = segs;
    for (let s = 0; s < segs; s++) {
      const part = data.subarray(s * room, (s + 1) * room);
      this.#buffer.set(part, s * this.#frameSize + this.#headroom);
      chain[1 + 2 * s] = s * this.#frameSize + this.#headroom;
      chain[2 + 2 * s] = part.length;
    }
    if (segs === 1) packet._moveTo(this.#headroom, data.length);
    else packet._moveToChain(this.#headroom, data.length, chain, 0);
  }
}

/**
 * Run `handler` over `frames` offline and report every verdict and the
 * frames it sent. `setup`, when given, receives the harness's ports first
 * (as `setup(ctx)` of a handler module does live).
 */
export function runHandler(
  handler: Handler,
  frames: Iterable<FrameInput>,
  options: RunHandlerOptions & { setup?: (ctx: { queue: number; interfaces: string[]; ports: Record<string, OfflinePort>; generation: number; log(message: string): void }) => unknown } = {},
): RunHandlerResult {
  const harness = new HandlerHarness(options);
  options.setup?.({ queue: options.queue ?? 0, interfaces: harness.interfaces, ports: harness.ports, generation: 0, log: () => undefined });
  const outcomes: FrameOutcome[] = [];
  for (const f of frames) {
    outcomes.push(f instanceof Uint8Array ? harness.run(handler, f) : harness.run(handler, f.data, f.interface));
  }
  return {
    outcomes,
    verdicts: outcomes.map((o) => o.verdict),
    sent: outcomes.filter((o) => o.out !== null).map((o) => o.frame!),
    counts: { ...harness.counts },
  };
}
