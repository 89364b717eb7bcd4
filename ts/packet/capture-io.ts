/**
 * Plumbing shared by the pcap and pcapng readers and writers: turning a
 * source (path, Node stream, web stream, async iterable, bytes) into exact-size
 * reads, and a sink into ordered writes with backpressure.
 *
 * Readers buffer only what the current record needs, so files far larger than
 * memory stream through in constant space.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { PacketError } from './errors.js';

/** Where a reader gets bytes: a file path, a Node Readable, a web ReadableStream, any async iterable of chunks, or the whole file in memory. */
export type CaptureSource = string | Uint8Array | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** Where a writer puts bytes: a file path (created/truncated), a Node Writable, a web WritableStream, or a function called per chunk. */
export type CaptureSink = string | Writable | WritableStream<Uint8Array> | ((chunk: Uint8Array) => void | Promise<void>);

/** Timestamp "now" in nanoseconds since the Unix epoch (microsecond precision). */
export function nowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1000)) * 1000n;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

function toIterable(source: CaptureSource): AsyncIterable<Uint8Array> {
  if (typeof source === 'string') return createReadStream(source, { highWaterMark: 1 << 20 });
  if (source instanceof Uint8Array) return once(source);
  if (Symbol.asyncIterator in source) return source as AsyncIterable<Uint8Array>;
  const stream = source as ReadableStream<Uint8Array>;
  return {
    async *[Symbol.asyncIterator]() {
      const reader = stream.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          yield value;
        }
      } finally {
        reader.releaseLock();
      }
    },
  };
}

/** Exact-size reads over a chunked source. */
export class ByteReader {
  private readonly it: AsyncIterator<Uint8Array>;
  private buf = new Uint8Array(1 << 16);
  private pos = 0;
  private end = 0;
  private done = false;
  /** Bytes consumed so far (for error messages). */
  consumed = 0;

  constructor(source: CaptureSource) {
    this.it = toIterable(source)[Symbol.asyncIterator]();
  }

  /** Make `n` bytes available; false if the source ends first (the bytes it had stay readable via `available`). */
  async ensure(n: number): Promise<boolean> {
    while (this.end - this.pos < n) {
      if (this.done) return false;
      const r = await this.it.next();
      if (r.done) {
        this.done = true;
        return false;
      }
      this.append(r.value);
    }
    return true;
  }

  get available(): number {
    return this.end - this.pos;
  }

  private append(chunk: Uint8Array): void {
    const have = this.end - this.pos;
    if (this.end + chunk.length > this.buf.length) {
      if (have + chunk.length <= this.buf.length) {
        this.buf.copyWithin(0, this.pos, this.end);
      } else {
        const next = new Uint8Array(Math.max(this.buf.length * 2, have + chunk.length));
        next.set(this.buf.subarray(this.pos, this.end));
        this.buf = next;
      }
      this.pos = 0;
      this.end = have;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** View of the next `n` buffered bytes without consuming them; valid until the next `ensure`. */
  peek(n: number): Uint8Array {
    return this.buf.subarray(this.pos, this.pos + n);
  }

  /** Consume `n` buffered bytes and return a copy the caller owns. */
  take(n: number): Uint8Array {
    const out = this.buf.slice(this.pos, this.pos + n);
    this.skip(n);
    return out;
  }

  skip(n: number): void {
    this.pos += n;
    this.consumed += n;
  }

  /** Stop reading the source early (closes a file stream). */
  async close(): Promise<void> {
    this.done = true;
    await this.it.return?.();
  }
}

/** Ordered writes to a sink, waiting for 'drain' on backpressure and surfacing the sink's errors. */
export class ByteWriter {
  private readonly write: (chunk: Uint8Array) => Promise<void>;
  private readonly finish: () => Promise<void>;
  private error: unknown = null;
  private closed = false;

  constructor(sink: CaptureSink) {
    if (typeof sink === 'function') {
      this.write = async (c) => {
        await sink(c);
      };
      this.finish = async () => {};
    } else if (typeof sink === 'string' || 'on' in sink) {
      const w: Writable = typeof sink === 'string' ? createWriteStream(sink) : sink;
      w.on('error', (e) => {
        this.error ??= e;
      });
      this.write = (c) =>
        new Promise((resolve, reject) => {
          if (this.error) return reject(this.fail());
          const ok = w.write(c, (e) => {
            if (e) this.error ??= e;
          });
          if (ok) return resolve();
          const onDrain = () => {
            w.off('error', onError);
            resolve();
          };
          const onError = (e: unknown) => {
            w.off('drain', onDrain);
            reject(this.fail(e));
          };
          w.once('drain', onDrain);
          w.once('error', onError);
        });
      this.finish = () =>
        new Promise((resolve, reject) => {
          if (this.error) return reject(this.fail());
          w.once('error', (e) => reject(this.fail(e)));
          // Node calls back with the error if the stream failed (a bad path fails only after open).
          w.end((e?: Error | null) => (e || this.error ? reject(this.fail(e ?? this.error)) : resolve()));
        });
    } else {
      const ws = (sink as WritableStream<Uint8Array>).getWriter();
      this.write = async (c) => {
        await ws.ready;
        await ws.write(c);
      };
      this.finish = async () => {
        await ws.close();
      };
    }
  }

  private fail(e: unknown = this.error): PacketError {
    return new PacketError('ERR_CAPTURE_WRITER_CLOSED', `capture sink failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }

  /** Write one chunk; the chunk must not be modified until the promise settles (writers pass copies). */
  async put(chunk: Uint8Array): Promise<void> {
    if (this.closed) throw new PacketError('ERR_CAPTURE_WRITER_CLOSED', 'write after close()');
    await this.write(chunk);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.finish();
  }
}

/** Little-endian or big-endian 16/32-bit access for capture headers (their byte order is the writer's, not the network's). */
export function rd16(b: Uint8Array, o: number, le: boolean): number {
  return le ? b[o] | (b[o + 1] << 8) : (b[o] << 8) | b[o + 1];
}

export function rd32(b: Uint8Array, o: number, le: boolean): number {
  return le
    ? (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
    : ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function wr16(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (le) {
    b[o] = v;
    b[o + 1] = v >>> 8;
  } else {
    b[o] = v >>> 8;
    b[o + 1] = v;
  }
}

export function wr32(b: Uint8Array, o: number, v: number, le: boolean): void {
  if (le) {
    b[o] = v;
    b[o + 1] = v >>> 8;
    b[o + 2] = v >>> 16;
    b[o + 3] = v >>> 24;
  } else {
    b[o] = v >>> 24;
    b[o + 1] = v >>> 16;
    b[o + 2] = v >>> 8;
    b[o + 3] = v;
  }
}

/** A record read from a pcap or pcapng file. */
export interface CaptureRecord {
  /** The captured bytes (a copy the caller owns). */
  data: Uint8Array;
  /** Length of the packet on the wire (>= data.length when the capture was snapped). */
  originalLength: number;
  /** Nanoseconds since the Unix epoch. */
  timestamp: bigint;
  /** Link-layer type (1 = Ethernet). */
  linkType: number;
  /** pcapng interface id (0 for pcap). */
  interfaceId: number;
  /** pcapng opt_comment values, in order (empty for pcap). */
  comments: string[];
}

/** Options common to `write()` of both writers. */
export interface WriteRecordOptions {
  /** Nanoseconds since the Unix epoch (default: now). */
  timestamp?: bigint;
  /** Length on the wire (default: the data length). */
  originalLength?: number;
}

/** Link-layer header types (tcpdump.org/linktypes.html) most used here. */
export enum LinkType {
  Null = 0,
  Ethernet = 1,
  Raw = 101,
  LinuxSll = 113,
}

/** Per-record size above which a file is considered corrupt rather than allocating it. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export function truncatedCapture(where: string, at: number): PacketError {
  return new PacketError('ERR_CAPTURE_TRUNCATED', `capture ends inside ${where} (at byte ${at})`);
}

/** Common part of the pcap and pcapng readers: a byte source and async iteration over `next()`. */
export abstract class RecordReader implements AsyncIterable<CaptureRecord> {
  protected readonly r: ByteReader;

  constructor(source: CaptureSource | ByteReader) {
    this.r = source instanceof ByteReader ? source : new ByteReader(source);
  }

  /** The next record, or null at the end of the file. */
  abstract next(): Promise<CaptureRecord | null>;

  async *[Symbol.asyncIterator](): AsyncGenerator<CaptureRecord> {
    try {
      for (let rec = await this.next(); rec !== null; rec = await this.next()) yield rec;
    } finally {
      await this.r.close();
    }
  }
}

/**
 * Common part of the pcap and pcapng writers: blocks are queued in order on
 * one promise chain, so callers may fire writes without awaiting each, and a
 * sink failure rejects every later write and close().
 */
export abstract class RecordWriter {
  private readonly out: ByteWriter;
  private tail: Promise<void> = Promise.resolve();

  constructor(sink: CaptureSink) {
    this.out = new ByteWriter(sink);
  }

  /** Queue bytes the writer owns (never a caller's buffer). */
  protected put(b: Uint8Array): Promise<void> {
    this.tail = this.tail.then(() => this.out.put(b));
    this.tail.catch(() => {}); // reported by the next write()/close()
    return this.tail;
  }

  /** Flush and close the sink (ends a Node stream or closes a web stream). */
  async close(): Promise<void> {
    await this.tail;
    await this.out.close();
  }
}
