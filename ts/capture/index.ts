/**
 * Live capture: `port.capture(options)` and `afxdp run --capture`. The port's
 * receive loop copies each received frame (and each frame it sends) into a
 * preallocated shared ring, and a writer thread turns the ring into pcapng;
 * see ring.ts and writer.ts.
 */
import { Worker } from 'node:worker_threads';
import { AfxdpError } from '../errors.js';
import { workerBootstrap } from '../handler/loader.js';
import { compileCaptureFilter } from './filter.js';
import { createRingBuffer, RingProducer } from './ring.js';
import type { RingSpec, WriterOptions } from './writer.js';

export interface CaptureOptions {
  /** pcapng file to write, or '-' for stdout. */
  path: string;
  /** Steering-expression filter ('udp port 53'), applied to frames as they arrived. */
  filter?: string;
  /** Bytes of each frame kept (default 262144: all). */
  snapLength?: number;
  /** Stop after this many frames written. */
  maxFrames?: number;
  /** Stop after this many frame bytes written. */
  maxBytes?: number;
  /** Rotate when a file would pass this many bytes (like tcpdump -C, in bytes). */
  rotateBytes?: number;
  /** Keep at most this many rotated files (like tcpdump -W). */
  rotateFiles?: number;
  /** Bytes of the shared ring per port (power of two, default 4 MiB). */
  bufferBytes?: number;
}

export interface CaptureStats {
  /** Frames and frame bytes written so far. */
  written: number;
  bytes: number;
  /** Frames left out by the filter. */
  filtered: number;
  /** Records dropped because the writer fell behind (the ring was full). */
  dropped: number;
  /** True once a frame or byte limit was reached. */
  limitReached: boolean;
}

/** Throws ERR_INVALID_OPTION (a SteerSyntaxError for the filter) for options a capture cannot take. */
export function checkCaptureOptions(o: CaptureOptions): void {
  if (!o || typeof o.path !== 'string' || o.path === '') throw new AfxdpError('ERR_INVALID_OPTION', 'capture needs { path: "<file>" or "-" }');
  for (const k of ['snapLength', 'maxFrames', 'maxBytes', 'rotateBytes', 'rotateFiles', 'bufferBytes'] as const) {
    const v = o[k];
    if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new AfxdpError('ERR_INVALID_OPTION', `capture ${k} must be a positive integer, got ${String(v)}`);
  }
  if (o.rotateFiles !== undefined && o.rotateBytes === undefined) throw new AfxdpError('ERR_INVALID_OPTION', 'capture rotateFiles needs rotateBytes');
  if (o.filter !== undefined) compileCaptureFilter(o.filter); // throws SteerSyntaxError (ERR_INVALID_OPTION)
}

/** A running capture: one writer thread, one ring per port. */
export class Capture {
  readonly #worker: Worker;
  readonly #stats: Float64Array;
  readonly #producers: RingProducer[];
  readonly #rings: RingSpec[];
  /** Bytes of each frame kept. */
  readonly snapLength: number;
  readonly #closed: Promise<string[]>;
  /** Settles when the writer has closed its file(s): the files written, or the writer's error (a failed write ends the capture, never the data path). */
  readonly done: Promise<string[]>;
  #stopped = false;

  /** @internal */
  constructor(options: CaptureOptions, ports: Array<{ interface: string; queue: number }>) {
    checkCaptureOptions(options);
    const snap = options.snapLength ?? 262144;
    const bufferBytes = options.bufferBytes ?? 4 << 20;
    const rings: RingSpec[] = ports.map((p) => ({ buffer: createRingBuffer(bufferBytes), interface: p.interface, queue: p.queue }));
    this.#rings = rings;
    this.snapLength = snap;
    this.#producers = rings.map((r) => new RingProducer(r.buffer, snap));
    const stats = new SharedArrayBuffer(4 * 8);
    this.#stats = new Float64Array(stats);
    const writerOptions: WriterOptions = { path: options.path, snapLength: snap };
    for (const k of ['filter', 'maxFrames', 'maxBytes', 'rotateBytes', 'rotateFiles'] as const) {
      if (options[k] !== undefined) (writerOptions as unknown as Record<string, unknown>)[k] = options[k];
    }
    const entry = new URL(`./writer-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    this.#worker = new Worker(workerBootstrap(entry), { eval: true, workerData: { options: writerOptions, rings, stats }, name: 'afxdp-capture' });
    this.#closed = new Promise((resolve, reject) => {
      this.#worker.on('message', (m: { type: string; files?: string[]; message?: string }) => {
        if (m.type === 'closed') resolve(m.files ?? []);
        if (m.type === 'error') reject(new AfxdpError('ERR_SYSCALL', `capture writer: ${m.message}`));
      });
      this.#worker.on('error', (e) => reject(new AfxdpError('ERR_INTERNAL', `capture writer: ${e.message}`)));
      this.#worker.on('exit', () => resolve([]));
    });
    this.#closed.catch(() => undefined);
    this.done = this.#closed;
  }

  /** @internal The ring producer of port `i` (in the order given). */
  producer(i: number): RingProducer {
    return this.#producers[i]!;
  }

  /**
   * @internal The shared ring of port `i`, for a port in another thread (the
   * daemon's workers): it makes its own RingProducer over it. The drop count
   * lives in the ring, so `stats()` here sees that thread's drops.
   */
  ringBuffer(i: number): SharedArrayBuffer {
    return this.#rings[i]!.buffer;
  }

  stats(): CaptureStats {
    const s = this.#stats;
    return { written: s[0]!, bytes: s[1]!, filtered: s[2]!, dropped: this.#producers.reduce((n, p) => n + p.dropped, 0), limitReached: s[3] === 1 };
  }

  /**
   * Stop capturing, write what is buffered, close the file(s). Resolves with
   * the files written. A capture that got no frame still writes a valid,
   * empty file unless `keepEmpty` is false.
   */
  async stop(options: { keepEmpty?: boolean } = {}): Promise<string[]> {
    if (!this.#stopped) {
      this.#stopped = true;
      for (const p of this.#producers) p.close();
      this.#worker.postMessage({ type: 'stop', keepEmpty: options.keepEmpty ?? true });
    }
    // A writer blocked on a sink nobody reads never closes: give up on it.
    // One that failed (its error rejects this) is terminated all the same.
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([this.#closed, new Promise<string[]>((r) => (timer = setTimeout(() => r([]), 3000)))]);
    } finally {
      clearTimeout(timer);
      await this.#worker.terminate();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
