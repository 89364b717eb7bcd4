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
  #length = 0;
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
    this.room = this.#frameSize - (offset % this.#frameSize);
  }

  /** Length of the frame's data in bytes. */
  get length(): number {
    if (this.#length === RELEASED) throw released();
    return this.#length;
  }

  /**
   * The frame's bytes, in place in the UMEM (no copy). Valid only during the
   * handler call. Creates a view object: handlers that must not allocate use
   * `buffer` + `offset`, or the u8/u16/u32 accessors.
   */
  get bytes(): Uint8Array {
    if (this.#length === RELEASED) throw released();
    return this.buffer.subarray(this.offset, this.offset + this.#length);
  }

  /** Change the frame's length (truncate, or grow into the frame's room). */
  setLength(length: number): void {
    if (this.#length === RELEASED) throw released();
    if (!Number.isInteger(length) || length < 14 || length > this.room) {
      throw new RangeError(`packet length must be an integer in 14..${this.room}, got ${length}`);
    }
    this.#length = length;
  }

  /**
   * @internal Debug mode: the handler call is over. Every accessor then
   * throws (the bounds check fails on a negative length, so the fast path
   * pays nothing for it).
   */
  _release(): void {
    this.#length = RELEASED;
    this.room = 0;
  }

  #check(at: number, size: number): number {
    if (!(at >= 0 && at + size <= this.#length)) throw this.#outside(at, size);
    return this.offset + at;
  }

  #outside(at: number, size: number): Error {
    if (this.#length === RELEASED) return released();
    return new RangeError(`offset ${at} (+${size}) is outside the packet (length ${this.#length})`);
  }

  u8(at: number): number {
    return this.buffer[this.#check(at, 1)]!;
  }

  /** Big-endian (network order) 16-bit read. */
  u16(at: number): number {
    return this.#view.getUint16(this.#check(at, 2));
  }

  /** Big-endian (network order) 32-bit read, unsigned. */
  u32(at: number): number {
    return this.#view.getUint32(this.#check(at, 4));
  }

  setU8(at: number, value: number): void {
    this.buffer[this.#check(at, 1)] = value;
  }

  setU16(at: number, value: number): void {
    this.#view.setUint16(this.#check(at, 2), value);
  }

  setU32(at: number, value: number): void {
    this.#view.setUint32(this.#check(at, 4), value);
  }

  /** Swap destination and source MAC addresses in place. */
  swapMacs(): void {
    const o = this.#check(0, 12);
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
