/**
 * The capture writer: drains capture rings and writes pcapng. Runs in its
 * own thread (writer-thread.ts), so a slow disk or a pipe nobody reads
 * stalls only this thread: the rings fill and the ports drop capture
 * records (counted), never frames.
 *
 * Each port is one pcapng interface (name = interface, description = queue).
 * A received frame is written as it arrived (inbound), then the frame the
 * handler sent (Tx, forward, pass) as edited (outbound); comments carry the
 * record number, queue and verdict ("afxdp: #12 rx queue=0 verdict=pass").
 */
import { createWriteStream, fstatSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { PcapngWriter } from '../packet/pcapng.js';
import { compileCaptureFilter, type FramePredicate } from './filter.js';
import { KIND_OUT, KIND_RX, RingConsumer, type CaptureRecordView } from './ring.js';

export interface WriterOptions {
  /** File to write, or '-' for stdout. */
  path: string;
  filter?: string;
  /** Stop writing after this many frames / bytes (of frames written). */
  maxFrames?: number;
  maxBytes?: number;
  /** Start a new file when the current one would pass this many bytes (-C). */
  rotateBytes?: number;
  /** With rotateBytes: keep at most this many files, reusing the oldest names (-W). */
  rotateFiles?: number;
  snapLength: number;
}

export interface RingSpec {
  buffer: SharedArrayBuffer;
  interface: string;
  queue: number;
}

export interface WriterStats {
  written: number;
  bytes: number;
  filtered: number;
  files: string[];
  done: boolean;
}

/** Verdict byte of a record: 0 drop, 1 tx, 255 pass, 254 send, else forward. */
export const VERDICT_SEND = 254;

function verdictName(v: number): string {
  if (v === 0) return 'drop';
  if (v === 1) return 'tx';
  if (v === 255) return 'pass';
  if (v === VERDICT_SEND) return 'send';
  return 'forward';
}

/** Name of file `index` of a rotation: out.pcapng, out-1.pcapng, out-2.pcapng... */
export function rotatedName(path: string, index: number): string {
  if (index === 0) return path;
  const dot = path.lastIndexOf('.');
  const slash = path.lastIndexOf('/');
  return dot > slash + 1 ? `${path.slice(0, dot)}-${index}${path.slice(dot)}` : `${path}-${index}`;
}

/**
 * Standard output as a sink. A pipe or socket becomes a non-blocking libuv
 * stream in this thread: a reader that stops reading fills the pipe, writes
 * wait for 'drain', the rings fill and capture records are dropped, and the
 * thread can still be stopped. (A blocking write, as fs streams do, would
 * hold a libuv pool thread forever and hang the exit.) Files and terminals
 * never block for long and take the plain fs stream.
 */
function stdoutSink(): Writable {
  const st = fstatSync(1);
  if (st.isFIFO() || st.isSocket()) return new Socket({ fd: 1, readable: false, writable: true });
  return createWriteStream('', { fd: 1, autoClose: false });
}

export class CaptureWriter {
  readonly #opts: WriterOptions;
  readonly #filter: FramePredicate | null;
  readonly #rings: Array<{ consumer: RingConsumer; spec: RingSpec; pending: CaptureRecordView | null; skipSeq: number }>;
  #writer: PcapngWriter | null = null;
  #fileBytes = 0;
  #fileIndex = 0;
  readonly stats: WriterStats = { written: 0, bytes: 0, filtered: 0, files: [], done: false };

  constructor(opts: WriterOptions, rings: RingSpec[]) {
    this.#opts = opts;
    this.#filter = opts.filter ? compileCaptureFilter(opts.filter) : null;
    this.#rings = rings.map((spec) => ({ consumer: new RingConsumer(spec.buffer), spec, pending: null, skipSeq: -1 }));
  }

  #open(): PcapngWriter {
    const name = this.#opts.path === '-' ? '-' : rotatedName(this.#opts.path, this.#fileIndex % (this.#opts.rotateFiles ?? Infinity));
    const sink: Writable | string = name === '-' ? stdoutSink() : name;
    if (name !== '-' && !this.stats.files.includes(name)) this.stats.files.push(name);
    const w = new PcapngWriter(sink, {
      application: 'afxdp capture',
      interfaces: this.#rings.map((r) => ({ name: r.spec.interface, description: `queue ${r.spec.queue}`, snapLength: this.#opts.snapLength, nanosecond: true })),
    });
    this.#fileBytes = 0;
    return w;
  }

  async #write(ringIndex: number, rec: CaptureRecordView, direction: 'rx' | 'out', verdict: string): Promise<void> {
    if (this.stats.done) return;
    const { maxFrames, maxBytes, rotateBytes } = this.#opts;
    if ((maxFrames !== undefined && this.stats.written >= maxFrames) || (maxBytes !== undefined && this.stats.bytes + rec.data.length > maxBytes)) {
      this.stats.done = true;
      return;
    }
    const blockBytes = 64 + rec.data.length; // an EPB with one comment, roughly
    if (this.#writer && rotateBytes !== undefined && this.#fileBytes > 0 && this.#fileBytes + blockBytes > rotateBytes && this.#opts.path !== '-') {
      await this.#writer.close();
      this.#fileIndex++;
      this.#writer = null;
    }
    this.#writer ??= this.#open();
    const ring = this.#rings[ringIndex]!;
    await this.#writer.write(rec.data, {
      interfaceId: ringIndex,
      timestamp: BigInt(rec.seconds) * 1_000_000_000n + BigInt(rec.nanoseconds),
      originalLength: rec.originalLength,
      comment: `afxdp: #${rec.seq} ${direction} queue=${ring.spec.queue} verdict=${verdict}`,
      flags: direction === 'rx' ? 1 : 2, // epb_flags direction: inbound / outbound
    });
    this.#fileBytes += blockBytes;
    this.stats.written++;
    this.stats.bytes += rec.data.length;
  }

  #wanted(rec: CaptureRecordView): boolean {
    if (!this.#filter || this.#filter(rec.data)) return true;
    this.stats.filtered++;
    return false;
  }

  /** Drain every ring once and write what came; returns records seen. */
  async pump(): Promise<number> {
    let seen = 0;
    const batch: CaptureRecordView[] = [];
    for (let i = 0; i < this.#rings.length; i++) {
      const ring = this.#rings[i]!;
      batch.length = 0;
      seen += ring.consumer.drain(batch);
      for (const rec of batch) {
        if (rec.kind === KIND_RX) {
          if (ring.pending) await this.#write(i, ring.pending, 'rx', 'unknown');
          ring.pending = null;
          if (this.#wanted(rec)) {
            ring.pending = rec;
            ring.skipSeq = -1; // a restarted worker numbers from 0 again
          } else ring.skipSeq = rec.seq;
        } else if (rec.kind === KIND_OUT) {
          if (rec.seq === ring.skipSeq) continue;
          const verdict = verdictName(rec.verdict);
          if (ring.pending && ring.pending.seq === rec.seq) {
            await this.#write(i, ring.pending, 'rx', verdict);
            ring.pending = null;
          } else if (rec.verdict === VERDICT_SEND && !this.#wanted(rec)) {
            continue;
          }
          if (rec.verdict !== 0) await this.#write(i, rec, 'out', verdict);
        }
      }
    }
    return seen;
  }

  /** Ring drops, summed. */
  get dropped(): number {
    return this.#rings.reduce((n, r) => n + r.consumer.dropped, 0);
  }

  /** Write what is left and close; `keepEmpty: false` writes no file when no frame came. */
  async close(options: { keepEmpty?: boolean } = {}): Promise<void> {
    await this.pump();
    for (let i = 0; i < this.#rings.length; i++) {
      const ring = this.#rings[i]!;
      if (ring.pending) await this.#write(i, ring.pending, 'rx', 'unknown');
      ring.pending = null;
    }
    // An empty capture is still a valid file (to stdout too: a header for `tshark -r -`).
    const empty = this.stats.files.length === 0 && (this.#opts.path !== '-' || this.stats.written === 0);
    this.#writer ??= empty && options.keepEmpty !== false ? this.#open() : null;
    await this.#writer?.close();
    this.#writer = null;
  }
}

/** Remove the files a rotation may have left from an earlier run (tests). */
export function removeRotated(path: string, count: number): void {
  for (let i = 0; i < count; i++) rmSync(rotatedName(path, i), { force: true });
}
