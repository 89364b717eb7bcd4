/**
 * The packet a handler sees: a flyweight over one frame in the UMEM. The
 * run loop reuses one instance per port and moves it from frame to frame,
 * so a handler must not keep it (or `bytes`) after it returns.
 */
import { AfxdpError } from './errors.js';
import { VERDICT_FORWARD_BASE, Verdict } from './verdict.js';

/** What a packet needs from the port it arrived on (avoids an import cycle). */
export interface PacketOwner {
  readonly umemId: number;
  readonly index: number;
  readonly interface: string;
  readonly queue: number;
  /** @internal Absent offline (replay, runHandler): offload then only sets the verdict. */
  readonly kernel?: { offloadFrame(bytes: Uint8Array, action: 'drop' | 'pass', ttl: number | undefined): boolean };
}

export interface OffloadOptions {
  /** Seconds the kernel verdict lasts (default: until the flow table evicts it). */
  ttl?: number;
}

/** Length of a packet whose handler call is over (debug mode, offline runs). */
const RELEASED = -1;

/**
 * Flag in the length word of a batch table entry: the frame spans several
 * UMEM frames (multi-buffer); its segments come from `rxChains`.
 * @internal
 */
export const CHAINED = 0x80000000;
/** Most segments of one frame (the kernel's MAX_SKB_FRAGS + 1). @internal */
export const MAX_SEGMENTS = 18;

const NO_SEGMENTS = new Uint32Array(0);

function released(): AfxdpError {
  return new AfxdpError(
    'ERR_PACKET_RELEASED',
    'packet used after its handler call returned: the run loop reuses it for the next frame; copy what you need (packet.bytes.slice()) during the call',
  );
}

export class Packet {
  /** The whole UMEM; `offset` is where this frame's data starts in it. */
  readonly buffer: Uint8Array;
  /** Byte offset of the frame's data in `buffer`. */
  offset = 0;
  /** Bytes from `offset` to the end of the frame (the most `setLength` allows). */
  room = 0;
  /** The port the packet arrived on. */
  readonly port: PacketOwner;
  /** Bytes the fast accessors may touch: the first segment's (all of a one-segment frame). */
  #length = 0;
  /** The whole frame's length (equal to #length for a one-segment frame). */
  #total = 0;
  /** Segments of a multi-buffer frame: chain table and where this frame's entry starts. */
  #segCount = 1;
  #chain: Uint32Array = NO_SEGMENTS;
  #chainAt = 0;
  #frameSize: number;
  #view: DataView;

  /** @internal Made by the port's run loop. */
  constructor(buffer: Uint8Array, frameSize: number, port: PacketOwner) {
    this.buffer = buffer;
    this.port = port;
    this.#frameSize = frameSize;
    this.#view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  /** @internal Point the flyweight at the next frame. */
  _moveTo(offset: number, length: number): void {
    this.offset = offset;
    this.#length = length;
    this.#total = length;
    this.#segCount = 1;
    // Frame sizes are powers of two: a mask instead of a division.
    this.room = this.#frameSize - (offset & (this.#frameSize - 1));
  }

  /**
   * @internal Point the flyweight at a multi-buffer frame of `length` bytes
   * whose entry in `chain` (segment count, then offset/length pairs) starts
   * at `at`. Returns where the next frame's entry starts.
   */
  _moveToChain(offset: number, length: number, chain: Uint32Array, at: number): number {
    const segs = chain[at]!;
    this.offset = offset;
    this.#chain = chain;
    this.#chainAt = at;
    this.#segCount = segs;
    this.#length = chain[at + 2]!;
    this.#total = length;
    this.room = length;
    return at + 1 + 2 * segs;
  }

  /**
   * Length of the whole frame in bytes, over all its segments. Headers are
   * read from the first segment: it holds a UMEM frame's worth (frame size
   * less 256 bytes of headroom: 3840 bytes with 4 KiB frames, 1792 with
   * 2 KiB), so every header of a jumbo frame is contiguous.
   */
  get length(): number {
    if (this.#length === RELEASED) throw released();
    return this.#total;
  }

  /** @internal Bytes of the first segment (all of a one-segment frame): what a capture records. */
  get _contiguous(): number {
    return this.#length;
  }

  /**
   * How many UMEM frames (descriptors) this frame spans: 1 except for
   * multi-buffer (jumbo) frames on a port opened with multi-buffer.
   */
  get segments(): number {
    if (this.#length === RELEASED) throw released();
    return this.#segCount;
  }

  /**
   * The frame's bytes, in place in the UMEM (no copy). Valid only during the
   * handler call. Creates a view object: handlers that must not allocate use
   * `buffer` + `offset`, or the u8/u16/u32 accessors. For a multi-buffer
   * frame (`segments > 1`) this is the first segment only; `readBytes` and
   * the u8/u16/u32 accessors reach every byte.
   */
  get bytes(): Uint8Array {
    if (this.#length === RELEASED) throw released();
    return this.buffer.subarray(this.offset, this.offset + this.#length);
  }

  /**
   * Change the frame's length: truncate, or grow into the frame's room. A
   * multi-buffer frame can be cut anywhere (segments past the new end are
   * freed on commit) but not grown.
   */
  setLength(length: number): void {
    if (this.#length === RELEASED) throw released();
    if (!Number.isInteger(length) || length < 14 || length > this.room) {
      throw new RangeError(`packet length must be an integer in 14..${this.room}, got ${length}`);
    }
    if (this.#segCount > 1) {
      this.#total = length;
      this.#length = Math.min(this.#chain[this.#chainAt + 2]!, length);
      return;
    }
    this.#length = length;
    this.#total = length;
  }

  /** Copy `into.length` bytes from offset `at` of the frame into `into` (any segment; no allocation). */
  readBytes(at: number, into: Uint8Array): void {
    this.#copy(at, into, false);
  }

  /** Copy `from` into the frame at offset `at` (any segment; no allocation). */
  writeBytes(at: number, from: Uint8Array): void {
    this.#copy(at, from, true);
  }

  #copy(at: number, bytes: Uint8Array, write: boolean): void {
    const n = bytes.length;
    if (!(at >= 0 && at + n <= this.#total) || this.#length === RELEASED) throw this.#outside(at, n);
    let done = 0;
    const segs = this.#segCount;
    for (let s = 0, start = 0; s < segs && done < n; s++) {
      const off = segs === 1 ? this.offset : this.#chain[this.#chainAt + 1 + 2 * s]!;
      const len = segs === 1 ? this.#length : this.#chain[this.#chainAt + 2 + 2 * s]!;
      const from = at + done - start;
      if (from < len) {
        const k = Math.min(len - from, n - done);
        if (write) this.buffer.set(bytes.subarray(done, done + k), off + from);
        else bytes.set(this.buffer.subarray(off + from, off + from + k), done);
        done += k;
      }
      start += len;
    }
  }

  /** Index in `buffer` of byte `at` of a multi-buffer frame (the caller checked `at < length`). */
  #indexOf(at: number): number {
    let start = 0;
    for (let s = 0; s < this.#segCount; s++) {
      const len = this.#chain[this.#chainAt + 2 + 2 * s]!;
      if (at < start + len) return this.#chain[this.#chainAt + 1 + 2 * s]! + at - start;
      start += len;
    }
    return -1; // unreachable: at < #total <= sum of segment lengths
  }

  /** Big-endian read of `size` bytes past the first segment (the slow path). */
  #readSlow(at: number, size: number): number {
    if (!(at >= 0 && at + size <= this.#total) || this.#segCount === 1) throw this.#outside(at, size);
    let v = 0;
    for (let k = 0; k < size; k++) v = v * 256 + this.buffer[this.#indexOf(at + k)]!;
    return v;
  }

  #writeSlow(at: number, size: number, value: number): void {
    if (!(at >= 0 && at + size <= this.#total) || this.#segCount === 1) throw this.#outside(at, size);
    for (let k = size - 1; k >= 0; k--) {
      this.buffer[this.#indexOf(at + k)] = value & 255;
      value = Math.floor(value / 256);
    }
  }

  /**
   * @internal Debug mode: the handler call is over. Every accessor then
   * throws (the bounds check fails on a negative length, so the fast path
   * pays nothing for it).
   */
  _release(): void {
    this.#length = RELEASED;
    this.#total = RELEASED;
    this.#segCount = 1;
    this.room = 0;
  }

  /**
   * Index in `buffer` of `size` bytes at `at` when they lie in the first
   * segment (every byte of a one-segment frame), else -1: the accessors
   * then take the slow path, which reaches later segments or throws.
   */
  #check(at: number, size: number): number {
    return at >= 0 && at + size <= this.#length ? this.offset + at : -1;
  }

  #outside(at: number, size: number): Error {
    if (this.#length === RELEASED) return released();
    return new RangeError(`offset ${at} (+${size}) is outside the packet (length ${this.#total})`);
  }

  u8(at: number): number {
    const i = this.#check(at, 1);
    return i >= 0 ? this.buffer[i]! : this.#readSlow(at, 1);
  }

  /** Big-endian (network order) 16-bit read. */
  u16(at: number): number {
    const i = this.#check(at, 2);
    return i >= 0 ? this.#view.getUint16(i) : this.#readSlow(at, 2);
  }

  /** Big-endian (network order) 32-bit read, unsigned. */
  u32(at: number): number {
    const i = this.#check(at, 4);
    return i >= 0 ? this.#view.getUint32(i) : this.#readSlow(at, 4);
  }

  setU8(at: number, value: number): void {
    const i = this.#check(at, 1);
    if (i >= 0) this.buffer[i] = value;
    else this.#writeSlow(at, 1, value);
  }

  setU16(at: number, value: number): void {
    const i = this.#check(at, 2);
    if (i >= 0) this.#view.setUint16(i, value);
    else this.#writeSlow(at, 2, value);
  }

  setU32(at: number, value: number): void {
    const i = this.#check(at, 4);
    if (i >= 0) this.#view.setUint32(i, value);
    else this.#writeSlow(at, 4, value >>> 0);
  }

  /** Swap destination and source MAC addresses in place. */
  swapMacs(): void {
    const o = this.#check(0, 12);
    if (o < 0) throw this.#outside(0, 12);
    // Four loads and four stores instead of twelve byte swaps.
    const v = this.#view;
    const dstHi = v.getUint32(o);
    const dstLo = v.getUint16(o + 4);
    v.setUint32(o, v.getUint32(o + 6));
    v.setUint16(o + 4, v.getUint16(o + 10));
    v.setUint32(o + 6, dstHi);
    v.setUint16(o + 10, dstLo);
  }

  /**
   * Decide this packet's flow (its 5-tuple) in the kernel from now on:
   * `Verdict.Drop`/'drop' drops its future packets in XDP, 'pass' hands them
   * to the kernel stack; either way they no longer reach the handler. This
   * packet itself is already in user space and cannot go back to the kernel:
   * the call returns `Verdict.Drop` for it (return something else to send it
   * on). A native call: meant for once per flow, not every packet. Frames
   * without a flow (not IP) are left alone.
   */
  offload(action: 'drop' | 'pass' | typeof Verdict.Drop, options: OffloadOptions = {}): Verdict {
    const kernelAction = action === Verdict.Drop || action === 'drop' ? 'drop' : action === 'pass' ? 'pass' : null;
    if (kernelAction === null) throw new RangeError(`offload takes Verdict.Drop, 'drop' or 'pass', got ${String(action)}`);
    this.port.kernel?.offloadFrame(this.bytes, kernelAction, options.ttl);
    return Verdict.Drop;
  }

  /**
   * Verdict that sends this frame out of `port`, which must share this
   * port's UMEM (`open({ shareUmemWith })`): nothing is copied.
   */
  forward(port: PacketOwner): Verdict {
    if (port.umemId !== this.port.umemId) {
      throw new AfxdpError(
        'ERR_NOT_SHARED_UMEM',
        `cannot forward from ${this.port.interface} to ${port.interface}: open it with { shareUmemWith } so they share a UMEM`,
      );
    }
    return VERDICT_FORWARD_BASE + port.index;
  }
}
