/**
 * The capture ring: a bounded byte ring in a SharedArrayBuffer between the
 * port's receive loop (one producer, on the data path) and the capture
 * writer thread (one consumer). The producer never waits and never
 * allocates: a record that does not fit is dropped and counted, so a slow
 * writer costs capture frames, never data-path frames.
 *
 * Layout: a header of Int32 slots (head, tail, dropped, closed), then the
 * byte area. head and tail are free-running byte counts (mod 2^32); records
 * are 4-byte aligned and never wrap: a record that would cross the end is
 * preceded by a skip marker and starts at 0.
 */
export const HEADER_BYTES = 64;
/** Record header bytes: total length, captured length, original length, kind/verdict/queue, seq, seconds, nanoseconds. */
export const RECORD_HEADER = 28;
const H_HEAD = 0;
const H_TAIL = 1;
const H_DROPPED = 2;
const H_CLOSED = 3;
/** Marks "the rest of the area up to its end is unused". */
const SKIP = 0xffffffff;

/** What a record is. */
export const KIND_RX = 0;
export const KIND_OUT = 1;

export interface CaptureRecordView {
  kind: number;
  verdict: number;
  queue: number;
  seq: number;
  seconds: number;
  nanoseconds: number;
  originalLength: number;
  data: Uint8Array;
}

export function createRingBuffer(capacity: number): SharedArrayBuffer {
  if (!Number.isInteger(Math.log2(capacity)) || capacity < 4096 || capacity > 1 << 30) {
    throw new RangeError(`capture buffer must be a power of two from 4096 to 2^30 bytes, got ${capacity}`);
  }
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

/** The data-path side. */
export class RingProducer {
  readonly #ctl: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #cap: number;
  readonly #mask: number;
  /** Longest frame part copied (snap length). */
  readonly snapLength: number;

  constructor(buffer: SharedArrayBuffer, snapLength: number) {
    this.#ctl = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES);
    this.#view = new DataView(buffer, HEADER_BYTES);
    this.#cap = this.#bytes.length;
    this.#mask = this.#cap - 1;
    this.snapLength = snapLength;
  }

  /**
   * Copy `length` bytes of `src` from `offset` (at most the snap length) into
   * a record of a frame `originalLength` bytes long (more than `length` for
   * a jumbo frame, of which only the first segment is contiguous). Returns
   * false (and counts a drop) when the ring has no room. No allocation.
   */
  push(src: Uint8Array, offset: number, length: number, originalLength: number, kind: number, verdict: number, queue: number, seq: number, seconds: number, nanoseconds: number): boolean {
    const caplen = length < this.snapLength ? length : this.snapLength;
    const size = (RECORD_HEADER + caplen + 3) & ~3;
    const ctl = this.#ctl;
    const head = Atomics.load(ctl, H_HEAD) >>> 0;
    const tail = Atomics.load(ctl, H_TAIL) >>> 0;
    let pos = head & this.#mask;
    let need = size;
    const toEnd = this.#cap - pos;
    if (toEnd < size) need += toEnd; // skip to the start
    if (((head - tail) >>> 0) + need > this.#cap) {
      Atomics.add(ctl, H_DROPPED, 1);
      return false;
    }
    const v = this.#view;
    if (toEnd < size) {
      v.setUint32(pos, SKIP, true);
      pos = 0;
    }
    v.setUint32(pos, size, true);
    v.setUint32(pos + 4, caplen, true);
    v.setUint32(pos + 8, originalLength, true);
    v.setUint32(pos + 12, kind | (verdict << 8) | (queue << 16), true);
    v.setUint32(pos + 16, seq >>> 0, true);
    v.setUint32(pos + 20, seconds >>> 0, true);
    v.setUint32(pos + 24, nanoseconds >>> 0, true);
    const dst = this.#bytes;
    const base = pos + RECORD_HEADER;
    for (let i = 0; i < caplen; i++) dst[base + i] = src[offset + i]!;
    // Release: the record's bytes are visible before the new head.
    Atomics.store(ctl, H_HEAD, (head + need) | 0);
    return true;
  }

  get dropped(): number {
    return Atomics.load(this.#ctl, H_DROPPED) >>> 0;
  }

  close(): void {
    Atomics.store(this.#ctl, H_CLOSED, 1);
    Atomics.notify(this.#ctl, H_HEAD);
  }
}

/** The writer side. */
export class RingConsumer {
  readonly #ctl: Int32Array;
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #cap: number;

  constructor(buffer: SharedArrayBuffer) {
    this.#ctl = new Int32Array(buffer, 0, HEADER_BYTES / 4);
    this.#bytes = new Uint8Array(buffer, HEADER_BYTES);
    this.#view = new DataView(buffer, HEADER_BYTES);
    this.#cap = this.#bytes.length;
  }

  get dropped(): number {
    return Atomics.load(this.#ctl, H_DROPPED) >>> 0;
  }

  get closed(): boolean {
    return Atomics.load(this.#ctl, H_CLOSED) === 1;
  }

  /** Take every complete record (copies: the ring space is released at once). */
  drain(out: CaptureRecordView[]): number {
    const ctl = this.#ctl;
    const head = Atomics.load(ctl, H_HEAD) >>> 0;
    let tail = Atomics.load(ctl, H_TAIL) >>> 0;
    let n = 0;
    while (tail !== head) {
      let pos = tail & (this.#cap - 1);
      const first = this.#view.getUint32(pos, true);
      if (first === SKIP || this.#cap - pos < RECORD_HEADER) {
        tail = (tail + (this.#cap - pos)) >>> 0;
        pos = 0;
        if (tail === head) break;
      }
      const v = this.#view;
      const size = v.getUint32(pos, true);
      const caplen = v.getUint32(pos + 4, true);
      const meta = v.getUint32(pos + 12, true);
      out.push({
        kind: meta & 0xff,
        verdict: (meta >>> 8) & 0xff,
        queue: meta >>> 16,
        originalLength: v.getUint32(pos + 8, true),
        seq: v.getUint32(pos + 16, true),
        seconds: v.getUint32(pos + 20, true),
        nanoseconds: v.getUint32(pos + 24, true),
        data: this.#bytes.slice(pos + RECORD_HEADER, pos + RECORD_HEADER + caplen),
      });
      n++;
      tail = (tail + size) >>> 0;
    }
    Atomics.store(ctl, H_TAIL, tail | 0);
    return n;
  }
}
