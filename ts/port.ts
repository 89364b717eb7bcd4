/**
 * Ports: one AF_XDP socket on (interface, queue) and the receive loop that
 * hands its frames to a TypeScript handler in batches.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { AfxdpError, fromNative, native } from './errors.js';
import { binding, type NativePortStats, type PortWaiter } from './native.js';
import { CHAINED, MAX_SEGMENTS, Packet, type PacketOwner } from './packet-view.js';
import { UmemHandle } from './umem.js';
import { Verdict } from './verdict.js';
import { KernelFastPath, PortRules, toRuleSet, type RuleCounter, type SteerSpec } from './steering.js';
import { Capture, type CaptureOptions } from './capture/index.js';
import { KIND_OUT, KIND_RX, type RingProducer } from './capture/ring.js';
import { VERDICT_SEND } from './capture/writer.js';

export interface OpenOptions {
  /** Interface name, in the calling thread's network namespace. */
  interface: string;
  /** RX queue to bind (default 0). */
  queue?: number;
  /** XDP attach mode: native (driver) where supported, else generic (skb). Default 'auto'. */
  mode?: 'auto' | 'native' | 'skb';
  /** 'auto' tries zero-copy and falls back to copy mode; true forces it (error if unsupported). */
  zeroCopy?: 'auto' | boolean;
  /** UMEM frame size: 2048 or 4096 (default 4096). Ignored with shareUmemWith. */
  frameSize?: 2048 | 4096;
  /** UMEM frame count, a power of two (default 4096). Ignored with shareUmemWith. */
  frames?: number;
  /** Most frames per handler batch (default 64). */
  batchSize?: number;
  /** RX and TX ring size (default 2048). */
  ringSize?: number;
  /**
   * Multi-buffer (jumbo frames larger than one UMEM frame; Linux >= 6.6).
   * Default 'auto': on only when the interface's MTU needs it, so other
   * ports keep the one-descriptor fast path. true forces it (e.g. to
   * measure it); false refuses an MTU too large for a frame.
   */
  multiBuffer?: 'auto' | boolean;
  /** Share the UMEM of this port, so `packet.forward` between the two copies nothing. */
  shareUmemWith?: Port;
  /**
   * Steering rules for the interface: a rule set, or a tcpdump-like
   * expression whose packets are steered to AF_XDP while everything else
   * stays with the kernel stack (e.g. 'udp dst port 53'). Default: steer all.
   */
  steer?: SteerSpec;
  /**
   * Busy polling (SO_PREFER_BUSY_POLL, SO_BUSY_POLL): the receive loop's own
   * syscalls run the device's receive processing on its CPU. For drivers
   * with NAPI (most NICs, veth with XDP); trades CPU for latency. Ignored
   * where the kernel lacks it (before 5.11): `stats().busyPoll` says.
   */
  busyPoll?: boolean;
  /**
   * Copy mode: descriptors one TX kick may transmit (XDP_MAX_TX_SKB_BUDGET,
   * Linux 6.17+). Default: the TX ring's size; 0 keeps the kernel's 32.
   * `stats().txBudget` says what the socket got.
   */
  txBudget?: number;
}

export type Handler = (packet: Packet) => Verdict;

export interface RunOptions {
  signal?: AbortSignal;
  /**
   * Called after each batch with its frame count and the time the handler
   * calls of the batch took, in nanoseconds (for metrics). Costs two clock
   * reads per batch; leave unset when not needed.
   */
  onBatch?: (frames: number, handlerNs: number) => void;
  /**
   * Called when the handler throws or returns something that is not a
   * verdict (an integer 0..255); the frame is dropped and counted in
   * `stats().handlerErrors` either way. The one place handler failures are
   * reported: keep it cheap (it runs inside the batch) and rate-limit logs.
   */
  onHandlerError?: (error: unknown) => void;
  /**
   * Debug mode (default: `AFXDP_DEBUG=1` in the environment): the packet is
   * invalidated after each handler call, so a handler that keeps it and uses
   * it later gets an AfxdpError (ERR_PACKET_RELEASED) instead of reading
   * another frame's bytes. Costs one predictable branch per packet.
   */
  debug?: boolean;
  /**
   * Low-latency mode: when the RX ring runs empty, keep re-polling it for
   * up to this many microseconds before blocking in poll() (default 0: a
   * few re-polls only). A frame arriving within that time is handled without
   * the wake-up through poll(), libuv and the event loop, at the price of a
   * busy core; the event loop still runs between batches and after the spin.
   */
  spinMicros?: number;
}

export interface XdpSocketStats {
  rxDropped: number;
  rxInvalidDescs: number;
  txInvalidDescs: number;
  rxRingFull: number;
  rxFillRingEmptyDescs: number;
  txRingEmptyDescs: number;
}

export interface PortStats {
  interface: string;
  queue: number;
  /** Frames received and handed to the handler. */
  rx: number;
  /** Frames sent back out of this port by a Tx verdict. */
  tx: number;
  /** Frames dropped (Drop verdicts, handler errors, invalid verdicts, full TX ring). */
  dropped: number;
  /** Frames forwarded to another port. */
  forwarded: number;
  /** Frames injected with `send`. */
  sent: number;
  /** Frames handed to the kernel stack by Verdict.Pass. */
  passed: number;
  /** Pass verdicts that could not be delivered (also counted in `dropped`). */
  passFailed: number;
  /** Handler calls that threw (or returned something other than a verdict). */
  handlerErrors: number;
  /** Frames dropped because the TX ring was full. */
  txRingFullDrops: number;
  /** Verdicts or lengths that named no open port or no valid length (frame dropped). */
  invalidVerdicts: number;
  /** The socket's XDP_STATISTICS. */
  xdp: XdpSocketStats;
  /**
   * The interface's XDP program (shared by all its ports): packets steered
   * to AF_XDP, passed to the kernel, dropped in XDP (of which by the drop
   * list), decided by offloaded flows, and per-rule counters.
   */
  steering: {
    steeredPackets: number;
    passedPackets: number;
    droppedPackets: number;
    blocked: number;
    offloadHits: number;
    noSocket: number;
    malformed: number;
    rules: RuleCounter[];
  };
  /** Where this port's frames are right now. */
  frames: { fillRing: number; rxRing: number; handler: number; txRing: number; completionRing: number };
  /** XDP attach mode in force. */
  attachMode: 'native' | 'skb';
  /** Whether the socket runs in zero-copy mode. */
  zeroCopy: boolean;
  /** Whether busy polling is on (asked for and supported by the kernel). */
  busyPoll: boolean;
  /** Copy-mode descriptors per TX kick (32 where the kernel has no XDP_MAX_TX_SKB_BUDGET). */
  txBudget: number;
  /** Whether the socket is multi-buffer (frames may span several UMEM frames). */
  multiBuffer: boolean;
}

/** Batches handled between two yields to the event loop. */
const BATCHES_PER_YIELD = 16;
/**
 * Empty polls of the RX ring, back to back, before waiting in poll() off
 * the JS thread. Synchronous on purpose: a few microseconds of re-polling
 * catch the next frames of a busy port without allocating (an `await` per
 * empty poll would allocate a promise each time).
 */
const IDLE_SPINS = 64;

function debugFromEnv(): boolean {
  const v = process.env.AFXDP_DEBUG;
  return v !== undefined && v !== '' && v !== '0';
}

function describeValue(v: unknown): string {
  return typeof v === 'number' ? String(v) : v === null ? 'null' : typeof v;
}
/** Longest blocking wait; the loop re-checks its state after each. */
const WAIT_MS = 200;

export class Port implements PacketOwner {
  readonly interface: string;
  readonly queue: number;
  /** @internal Index of this port in its UMEM (forward verdicts name it). */
  readonly index: number;
  /** @internal */
  readonly umem: UmemHandle;
  readonly batchSize: number;
  #closed = false;
  #closing: Promise<void> | null = null;
  #stopRequested = false;
  #loop: Promise<void> | null = null;
  #handlerErrors = 0;
  /** Live capture (port.capture): the ring the loop copies into, or null (then it costs one test per packet). */
  #capture: { ring: RingProducer; seq: number } | null = null;
  readonly #waiter: PortWaiter;
  /** The interface's steering rules (shared by its ports). */
  readonly rules: PortRules;
  /** The interface's kernel drop list and offloaded flows. */
  readonly kernel: KernelFastPath;

  /** @internal Use `open()`. */
  constructor(umem: UmemHandle, index: number, options: OpenOptions, batchSize: number) {
    this.umem = umem;
    this.index = index;
    this.interface = options.interface;
    this.queue = options.queue ?? 0;
    this.batchSize = batchSize;
    this.#waiter = umem.native.waiter(index);
    this.rules = new PortRules(umem.native, index);
    this.kernel = new KernelFastPath(umem.native, index);
  }

  get umemId(): number {
    return this.umem.id;
  }

  get closed(): boolean {
    return this.#closed || this.#closing !== null;
  }

  /**
   * Run the receive loop: every frame goes through `handler`, whose verdict
   * decides its fate. Settles when the port closes or `signal` aborts.
   */
  run(handler: Handler, options: RunOptions = {}): Promise<void> {
    if (this.#closed || this.#closing) return Promise.reject(new AfxdpError('ERR_CLOSED', 'the port is closed'));
    if (this.#loop) return Promise.reject(new AfxdpError('ERR_ALREADY_RUNNING', 'this port is already running a handler'));
    if (typeof handler !== 'function') {
      return Promise.reject(new AfxdpError('ERR_INVALID_OPTION', 'run() needs a handler function'));
    }
    const { signal, spinMicros } = options;
    if (spinMicros !== undefined && !(Number.isFinite(spinMicros) && spinMicros >= 0 && spinMicros <= 1_000_000)) {
      return Promise.reject(new AfxdpError('ERR_INVALID_OPTION', `spinMicros must be a number of microseconds from 0 to 1000000, got ${String(spinMicros)}`));
    }
    if (signal?.aborted) return Promise.resolve();
    this.#stopRequested = false;
    const onAbort = () => this.#requestStop();
    signal?.addEventListener('abort', onAbort, { once: true });
    const loop = this.#receiveLoop(handler, options).finally(() => {
      signal?.removeEventListener('abort', onAbort);
      this.#loop = null;
    });
    this.#loop = loop;
    return loop;
  }

  #requestStop(): void {
    this.#stopRequested = true;
    this.#waiter.wake();
  }

  async #receiveLoop(handler: Handler, options: RunOptions): Promise<void> {
    // Start on the next microtask, after run() has recorded this loop: the
    // first batches run synchronously until the loop's first await, and a
    // close() or run() from inside the handler must already see it running.
    await Promise.resolve();
    const { onBatch, onHandlerError } = options;
    const spinMs = (options.spinMicros ?? 0) / 1000;
    let spinSince = 0;
    const debug = options.debug ?? debugFromEnv();
    const umem = this.umem.native;
    const index = this.index;
    const batchSize = this.batchSize;
    // Preallocated once per run: the batch ABI allocates nothing per batch.
    const table = new Uint32Array(batchSize * 2);
    const verdicts = new Uint8Array(batchSize);
    // Segments of the batch's multi-buffer frames, read only for batches
    // that have one (never on the one-descriptor fast path).
    const chains = new Uint32Array(batchSize * (1 + 2 * MAX_SEGMENTS));
    const packet = new Packet(this.umem.bytes, this.umem.frameSize, this);
    // One native call per batch: commit the batch just handled and receive
    // the next (a class-method call costs several times a plain one).
    const cycle = binding.batchCycle;
    const handle = native(() => umem.batchHandle());
    // A batch handled but not committed yet: its frames are still ours and
    // must go back before this loop awaits anything or ends.
    let uncommitted = false;
    let failure: { err: unknown } | null = null;
    let idle = 0;
    let batches = 0;
    // The batch's size and the frame being handled, kept outside the loop so
    // that frames a failure left without a verdict can be dropped.
    let n = 0;
    let i = 0;
    try {
      while (!this.#stopRequested) {
        n = cycle(handle, index, table, verdicts, uncommitted);
        uncommitted = n > 0;
        if (n === 0) {
          if (++idle <= IDLE_SPINS) continue;
          if (spinMs > 0) {
            const now = performance.now();
            if (spinSince === 0) spinSince = now;
            if (now - spinSince < spinMs) continue;
            spinSince = 0;
          }
          idle = 0;
          // Frames waiting in the TX ring need kicks: wait briefly then.
          await this.#waiter.wait(umem.txPending(index) ? 1 : WAIT_MS);
          continue;
        }
        idle = 0;
        spinSince = 0;
        const started = onBatch ? performance.now() : 0;
        const cap = this.#capture;
        const capNow = cap !== null ? performance.timeOrigin + performance.now() : 0;
        const capSec = Math.floor(capNow / 1000);
        const capNs = Math.floor((capNow - capSec * 1000) * 1e6);
        let chainAt = -1;
        for (i = 0; i < n; i++) {
          const len = table[2 * i + 1]!;
          if (len < CHAINED) packet._moveTo(table[2 * i]!, len);
          else {
            if (chainAt < 0) {
              umem.rxChains(index, chains);
              chainAt = 0;
            }
            chainAt = packet._moveToChain(table[2 * i]!, len - CHAINED, chains, chainAt);
          }
          // A jumbo frame's capture holds its first segment (the contiguous
          // part) and says how long the whole frame was.
          if (cap !== null) cap.ring.push(packet.buffer, packet.offset, packet._contiguous, packet.length, KIND_RX, 0, this.queue, cap.seq, capSec, capNs);
          let verdict: unknown;
          try {
            verdict = handler(packet);
          } catch (err) {
            this.#handlerFailed(err, onHandlerError);
            verdict = Verdict.Drop;
          }
          // A verdict is an integer 0..255 (Drop, Tx, Pass, or 2 + a port index);
          // anything else (undefined, NaN, 256, a promise) is a handler error,
          // never silently wrapped by the Uint8Array.
          if (typeof verdict !== 'number' || (verdict & 255) !== verdict) {
            this.#handlerFailed(new AfxdpError('ERR_INVALID_VERDICT', `handler returned ${describeValue(verdict)}, not a verdict (Verdict.Drop, Verdict.Tx or packet.forward(port))`), onHandlerError);
            verdict = Verdict.Drop;
          }
          verdicts[i] = verdict as number;
          table[2 * i + 1] = packet.length;
          if (cap !== null) {
            const sent = verdict !== Verdict.Drop;
            cap.ring.push(packet.buffer, packet.offset, sent ? packet._contiguous : 0, sent ? packet.length : 0, KIND_OUT, verdict as number, this.queue, cap.seq++, capSec, capNs);
          }
          if (debug) packet._release();
        }
        const handlerNs = onBatch ? (performance.now() - started) * 1e6 : 0;
        // The next cycle() commits this batch (or the lines below, or the
        // commit after the loop when something throws first).
        if (onBatch) onBatch(n, handlerNs);
        if (++batches >= BATCHES_PER_YIELD) {
          batches = 0;
          uncommitted = false;
          umem.commit(index, table, verdicts);
          await yieldToEventLoop();
        }
      }
    } catch (err) {
      failure = { err };
    }
    // A received batch must go back whatever ended the loop (a stop, an
    // onBatch callback or a native call that threw mid-batch): frames left
    // without a verdict are dropped, not sent with a stale one. A port closed
    // from inside the handler has taken its frames back already.
    if (uncommitted && !this.#closed) {
      verdicts.fill(Verdict.Drop, i, n);
      try {
        umem.commit(index, table, verdicts);
      } catch (err) {
        failure ??= { err }; // the first error is the one to report
      }
    }
    if (failure && !this.#closed) throw fromNative(failure.err);
  }

  #handlerFailed(err: unknown, report: RunOptions['onHandlerError']): void {
    this.#handlerErrors++;
    if (report) {
      try {
        report(err);
      } catch {
        // A failing reporter must not take the batch down: its frames must go back.
      }
    }
  }

  /** Inject a new frame (copied into a free UMEM frame). False when no frame or TX slot is free. */
  send(bytes: Uint8Array): boolean {
    this.#ensureOpen();
    const ok = native(() => this.umem.native.send(this.index, bytes));
    const cap = this.#capture;
    if (ok && cap !== null) {
      const t = performance.timeOrigin + performance.now();
      const sec = Math.floor(t / 1000);
      cap.ring.push(bytes, 0, bytes.length, bytes.length, KIND_OUT, VERDICT_SEND, this.queue, cap.seq++, sec, Math.floor((t - sec * 1000) * 1e6));
    }
    return ok;
  }

  /**
   * Capture what this port receives (as it arrived) and sends (as edited,
   * with the verdict) to a pcapng file, from a writer thread: the data path
   * never waits for it; when the writer falls behind, capture records are
   * dropped (`stats().dropped`). Stop it with `await capture.stop()`.
   */
  capture(options: CaptureOptions): Capture {
    this.#ensureOpen();
    if (this.#capture) throw new AfxdpError('ERR_ALREADY_RUNNING', 'this port is already capturing');
    const capture = new Capture(options, [{ interface: this.interface, queue: this.queue }]);
    const slot = { ring: capture.producer(0), seq: 0 };
    this.#capture = slot;
    const stop = capture.stop.bind(capture);
    capture.stop = (stopOptions) => {
      if (this.#capture === slot) this.#capture = null;
      return stop(stopOptions);
    };
    return capture;
  }

  /** @internal The daemon's capture (--capture): this port writes into `ring`, whose writer runs in the main thread. */
  _attachCapture(ring: RingProducer): void {
    if (this.#capture) throw new AfxdpError('ERR_ALREADY_RUNNING', 'this port is already capturing');
    this.#capture = { ring, seq: 0 };
  }

  /** Reap TX completions and kick pending TX (useful after `send` when no loop runs). */
  flush(): void {
    this.#ensureOpen();
    native(() => this.umem.native.service(this.index));
  }

  stats(): PortStats {
    this.#ensureOpen();
    const s: NativePortStats = native(() => this.umem.native.stats(this.index));
    const k = native(() => this.umem.native.steeringCounters(this.index));
    return {
      interface: s.interface,
      queue: s.queue,
      rx: s.rx,
      tx: s.tx,
      dropped: s.dropped,
      forwarded: s.forwarded,
      sent: s.sent,
      passed: s.passed,
      passFailed: s.passFailed,
      handlerErrors: this.#handlerErrors,
      txRingFullDrops: s.txRingFullDrops,
      invalidVerdicts: s.invalidVerdicts,
      xdp: {
        rxDropped: s.rxDropped,
        rxInvalidDescs: s.rxInvalidDescs,
        txInvalidDescs: s.txInvalidDescs,
        rxRingFull: s.rxRingFull,
        rxFillRingEmptyDescs: s.rxFillRingEmptyDescs,
        txRingEmptyDescs: s.txRingEmptyDescs,
      },
      frames: {
        fillRing: s.fillRing,
        rxRing: s.rxRing,
        handler: s.handler,
        txRing: s.txRing,
        completionRing: s.completionRing,
      },
      steering: {
        steeredPackets: k.steeredPackets,
        passedPackets: k.passedPackets,
        droppedPackets: k.droppedPackets,
        blocked: k.blocked,
        offloadHits: k.offloadHits,
        noSocket: k.noSocket,
        malformed: k.malformed,
        rules: this.rules.counters(),
      },
      attachMode: s.attachMode as 'native' | 'skb',
      zeroCopy: s.zeroCopy,
      busyPoll: s.busyPoll,
      txBudget: s.txBudget,
      multiBuffer: s.multiBuffer,
    };
  }

  /**
   * Frame accounting of this port's UMEM: how many frames are in each state.
   * `consistent` is false if the states do not add up (a bug: please report).
   */
  frameAccounting(): { total: number; free: number; fill: number; handler: number; tx: number; retired: number; consistent: boolean } {
    return this.umem.native.frameCounts();
  }

  /** Stop the loop, close the socket; the last port of an interface detaches the program, the last of a UMEM frees it. */
  close(): Promise<void> {
    // One close, however many callers: the UMEM's port count must drop once.
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#requestStop();
    if (this.#loop) await this.#loop.catch(() => undefined);
    this.#closed = true;
    try {
      // No wait is in flight (the loop has ended): the waiter lets go of
      // the port's eventfd, which closes with the port below.
      this.#waiter.close();
      native(() => this.umem.native.closePort(this.index));
    } finally {
      this.umem.portClosed();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #ensureOpen(): void {
    if (this.#closed) throw new AfxdpError('ERR_CLOSED', `port ${this.interface}/${this.queue} is closed`);
  }
}

function validate(options: OpenOptions): void {
  if (!options || typeof options.interface !== 'string' || options.interface === '') {
    throw new AfxdpError('ERR_INVALID_OPTION', 'open() needs { interface: "<name>" }');
  }
  const mode = options.mode;
  if (mode !== undefined && mode !== 'auto' && mode !== 'native' && mode !== 'skb') {
    throw new AfxdpError('ERR_INVALID_OPTION', `mode must be 'auto', 'native' or 'skb', got ${String(mode)}`);
  }
  const zc = options.zeroCopy;
  if (zc !== undefined && zc !== 'auto' && zc !== true && zc !== false) {
    throw new AfxdpError('ERR_INVALID_OPTION', `zeroCopy must be 'auto', true or false, got ${String(zc)}`);
  }
  if (options.busyPoll !== undefined && typeof options.busyPoll !== 'boolean') {
    throw new AfxdpError('ERR_INVALID_OPTION', `busyPoll must be true or false, got ${String(options.busyPoll)}`);
  }
  const mb = options.multiBuffer;
  if (mb !== undefined && mb !== 'auto' && mb !== true && mb !== false) {
    throw new AfxdpError('ERR_INVALID_OPTION', `multiBuffer must be 'auto', true or false, got ${String(mb)}`);
  }
  for (const key of ['queue', 'frames', 'frameSize', 'batchSize', 'ringSize', 'txBudget'] as const) {
    const v = options[key];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0 && v <= 0xffffffff)) {
      throw new AfxdpError(key === 'frames' ? 'ERR_INVALID_FRAME_COUNT' : key === 'frameSize' ? 'ERR_INVALID_FRAME_SIZE' : 'ERR_INVALID_OPTION',
        `${key} must be a non-negative integer, got ${String(v)}`);
    }
  }
}

/**
 * Open a port: attach the steering program to the interface (once per
 * interface and process), create or share a UMEM, bind an AF_XDP socket to
 * the queue. A failed open leaves nothing attached and nothing allocated.
 */
export async function open(options: OpenOptions): Promise<Port> {
  validate(options);
  const shared = options.shareUmemWith;
  if (shared && shared.closed) throw new AfxdpError('ERR_CLOSED', 'shareUmemWith names a closed port');
  const umem = shared ? shared.umem : new UmemHandle(options.frameSize, options.frames);
  const batchSize = options.batchSize ?? 64;
  try {
    const zc = options.zeroCopy ?? 'auto';
    const init: Parameters<typeof umem.native.addPort>[0] = {
      interface: options.interface,
      queue: options.queue ?? 0,
      mode: options.mode ?? 'auto',
      zeroCopy: zc === 'auto' ? 'auto' : zc ? 'on' : 'off',
      batchSize,
    };
    if (options.ringSize !== undefined) init.ringSize = options.ringSize;
    if (options.busyPoll !== undefined) init.busyPoll = options.busyPoll;
    if (options.txBudget !== undefined) init.txBudget = options.txBudget;
    if (options.multiBuffer !== undefined && options.multiBuffer !== 'auto') init.multiBuffer = options.multiBuffer;
    // Installed by the native side before the socket joins the XSKMAP.
    if (options.steer !== undefined) init.rulesJson = JSON.stringify(toRuleSet(options.steer));
    const index = native(() => umem.native.addPort(init));
    umem.portOpened();
    return new Port(umem, index, options, batchSize);
  } catch (err) {
    if (!shared && umem.openPorts === 0) umem.close();
    throw err;
  }
}
