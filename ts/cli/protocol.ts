/** Messages between the daemon's main thread and its workers (one per queue). */
import type { PortStats } from '../port.js';

export interface WorkerConfig {
  /** Absolute path of the handler module. */
  handlerPath: string;
  /** Interfaces this worker opens `queue` on (the first owns the UMEM, the others share it). */
  interfaces: string[];
  queue: number;
  open: {
    mode: 'auto' | 'native' | 'skb';
    zeroCopy: 'auto' | boolean;
    frameSize?: 2048 | 4096;
    frames?: number;
    batchSize?: number;
    ringSize?: number;
  };
  /** Time one handler call in this many (a power of two). */
  sampleEvery: number;
}

export interface HandlerStats {
  /** Handler calls. */
  calls: number;
  /** Calls that threw or returned something other than a verdict. */
  errors: number;
  /** Timed calls and their total time in nanoseconds (one call in `sampleEvery`). */
  samples: number;
  sampledNs: number;
  /** Reloads that took effect (0 = the module first loaded). */
  generation: number;
  reloadFailures: number;
}

export interface WorkerStats {
  queue: number;
  ports: PortStats[];
  handler: HandlerStats;
}

export type ToWorker =
  | { type: 'stats'; id: number }
  | { type: 'reload'; generation: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; queue: number; ports: Array<{ interface: string; queue: number; attachMode: string; zeroCopy: boolean }> }
  | { type: 'fatal'; queue: number; exitCode: number; message: string }
  | { type: 'stats'; id: number; stats: WorkerStats }
  | { type: 'log'; queue: number; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'reloaded'; queue: number; ok: boolean; generation: number; message: string }
  | { type: 'stopped'; queue: number };
