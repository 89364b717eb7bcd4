/** Messages between the daemon's main thread and its workers (one per queue). */
import type { PortStats } from '../port.js';
import type { RuleSet } from '../steer/index.js';

export interface WorkerConfig {
  /** Absolute path of the handler module. */
  handlerPath: string;
  /** Interfaces this worker opens `queue` on (the first owns the UMEM, the others share it). */
  interfaces: string[];
  queue: number;
  /**
   * An Int32Array(1) the worker bumps from a timer on its own event loop:
   * when it stops moving, the thread is stuck (a handler that never
   * returns). Read by the main thread's watchdog; no per-packet cost.
   */
  heartbeat: SharedArrayBuffer;
  /** How long a reload's import, setup() or teardown() may take before it is abandoned. */
  reloadTimeoutMs: number;
  /** Successful reloads so far (a restarted worker carries the count on). */
  generation: number;
  /**
   * --capture: one shared ring per interface (in `interfaces` order) that
   * this worker's ports copy frames into; the main thread's capture writer
   * drains them (ts/capture/).
   */
  capture?: { rings: SharedArrayBuffer[]; snapLength: number };
  /** Steering rules for every interface (from --steer), parsed and checked in the main thread. */
  steer?: RuleSet;
  open: {
    mode: 'auto' | 'native' | 'skb';
    zeroCopy: 'auto' | boolean;
    frameSize?: 2048 | 4096;
    frames?: number;
    batchSize?: number;
    ringSize?: number;
    busyPoll?: boolean;
    /** Not an open() option but the loop's: run({ spinMicros }) (--spin-micros). */
    spinMicros?: number;
  };
}

export interface HandlerStats {
  /** Handler calls. */
  calls: number;
  /** Calls that threw or returned something other than a verdict. */
  errors: number;
  /** Reloads that took effect (0 = the module first loaded); failed or abandoned ones do not count. */
  generation: number;
  reloadFailures: number;
}

/**
 * Upper bounds, in nanoseconds, of the buckets of the handler-time-per-batch
 * histogram (a last bucket, +Inf, follows).
 */
export const BATCH_NS_BOUNDS: readonly number[] = [1e3, 2.5e3, 5e3, 1e4, 2.5e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2.5e6, 1e7, 1e8];

/** Handler time per batch on one port (from `Port.run`'s `onBatch`), since the worker started. */
export interface BatchTiming {
  interface: string;
  queue: number;
  /** Batches handed to the handler. */
  batches: number;
  /** Frames in those batches (equals the port's `rx`). */
  frames: number;
  /** Time the handler calls of those batches took, in nanoseconds. */
  handlerNs: number;
  /**
   * Batches per bucket, not cumulative: `buckets[i]` counts batches that took
   * at most `BATCH_NS_BOUNDS[i]` and more than the bound before; the last
   * entry counts those above every bound.
   */
  buckets: number[];
}

export interface WorkerStats {
  queue: number;
  ports: PortStats[];
  /** Handler time per batch, one entry per port (matched by interface). */
  batches: BatchTiming[];
  handler: HandlerStats;
}

/** A drop-list operation on one interface, from `afxdp block|unblock|blocked` through the control socket. */
export type ControlRequest =
  | { op: 'block'; interface: string; prefix: string; ttl?: number }
  | { op: 'unblock'; interface: string; prefix: string }
  | { op: 'blocked'; interface: string };

export type ToWorker =
  | { type: 'stats'; id: number }
  | { type: 'control'; id: number; request: ControlRequest }
  /** `attempt` only makes the module URL unique (a fresh import); it is not the generation. */
  | { type: 'reload'; attempt: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; queue: number; ports: Array<{ interface: string; queue: number; attachMode: string; zeroCopy: boolean }> }
  | { type: 'fatal'; queue: number; exitCode: number; message: string }
  | { type: 'stats'; id: number; stats: WorkerStats }
  | { type: 'log'; queue: number; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'reloaded'; queue: number; ok: boolean; attempt: number; generation: number; message: string }
  | { type: 'control'; id: number; ok: boolean; result?: unknown; error?: { message: string; code?: string } }
  /** The worker's counters as its receive loops ended (the exact totals). */
  | { type: 'stopped'; queue: number; stats: WorkerStats };
