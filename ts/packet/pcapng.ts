/**
 * pcapng files: read and write, streaming, any if_tsresol (microsecond,
 * nanosecond, binary), either byte order (per section), several interfaces,
 * and per-packet comments (opt_comment), which the daemon uses to record each
 * frame's verdict. Format: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcapng/
 *
 *   const w = new PcapngWriter('out.pcapng');
 *   await w.write(frame, { comment: 'verdict=drop' });
 *   await w.close();
 *
 * Blocks read: SHB, IDB, EPB, SPB, (obsolete) PB; others (NRB, ISB, DSB,
 * custom...) are skipped.
 */
import {
  LinkType,
  MAX_RECORD_BYTES,
  nowNs,
  rd16,
  rd32,
  RecordReader,
  RecordWriter,
  truncatedCapture,
  wr16,
  wr32,
  type CaptureRecord,
  type CaptureSink,
  type CaptureSource,
  type WriteRecordOptions,
} from './capture-io.js';
import { PacketError } from './errors.js';

const SHB = 0x0a0d0d0a;
const IDB = 1;
const PB = 2;
const SPB = 3;
const EPB = 6;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;

const OPT_END = 0;
const OPT_COMMENT = 1;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const EPB_FLAGS = 2;

/** True if the first 4 bytes are a pcapng Section Header Block type. */
export function isPcapngMagic(b: Uint8Array): boolean {
  return rd32(b, 0, true) === SHB;
}

/** An interface described by an IDB. */
export interface PcapngInterfaceInfo {
  linkType: number;
  snapLength: number;
  name?: string;
  description?: string;
  /** if_tsresol as given (default 6: microseconds). Bit 7 set: a power of two. */
  tsresol: number;
  /** if_tsoffset in seconds (default 0). */
  tsoffset: bigint;
}

/** Convert a timestamp in if_tsresol units to nanoseconds. */
function unitsToNs(units: bigint, tsresol: number): bigint {
  if (tsresol & 0x80) return (units * 1_000_000_000n) >> BigInt(tsresol & 0x7f);
  const r = tsresol & 0x7f;
  return r <= 9 ? units * 10n ** BigInt(9 - r) : units / 10n ** BigInt(r - 9);
}

const utf8 = new TextDecoder('utf-8');

/** Walks the options of a block body from `o` to `end`, calling `fn(code, valueOffset, length)`. */
function forEachOption(b: Uint8Array, o: number, end: number, le: boolean, fn: (code: number, v: number, len: number) => void): void {
  while (o + 4 <= end) {
    const code = rd16(b, o, le);
    const len = rd16(b, o + 2, le);
    if (code === OPT_END) return;
    if (o + 4 + len > end) {
      throw new PacketError('ERR_CAPTURE_BAD_RECORD', `pcapng option ${code} runs past its block`);
    }
    fn(code, o + 4, len);
    o += 4 + ((len + 3) & ~3);
  }
}

/** Streaming pcapng reader: an async iterable of packet records. */
export class PcapngReader extends RecordReader {
  private le = true;
  private started = false;
  /** Interfaces of the current section, by id. */
  interfaces: PcapngInterfaceInfo[] = [];
  /** Comments of the current Section Header Block. */
  sectionComments: string[] = [];

  /** The next packet record, or null at the end of the file. */
  async next(): Promise<CaptureRecord | null> {
    const r = this.r;
    for (;;) {
      if (!(await r.ensure(12))) {
        if (r.available === 0) {
          if (!this.started) throw new PacketError('ERR_CAPTURE_BAD_MAGIC', 'empty input: not a pcapng file');
          return null;
        }
        throw truncatedCapture('a pcapng block header', r.consumed + r.available);
      }
      const head = r.peek(12);
      const type = rd32(head, 0, this.le);
      if (type === SHB) {
        // The section's byte order is given by its magic, which follows the length.
        const m = rd32(head, 8, true);
        if (m === BYTE_ORDER_MAGIC) this.le = true;
        else if (rd32(head, 8, false) === BYTE_ORDER_MAGIC) this.le = false;
        else throw new PacketError('ERR_CAPTURE_BAD_MAGIC', 'pcapng section header with a bad byte-order magic');
      } else if (!this.started) {
        throw new PacketError('ERR_CAPTURE_BAD_MAGIC', `not a pcapng file (first block type 0x${type.toString(16)})`);
      }
      this.started = true;
      const len = rd32(head, 4, this.le);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
        throw new PacketError('ERR_CAPTURE_BAD_RECORD', `pcapng block at byte ${r.consumed} has length ${len}`);
      }
      if (!(await r.ensure(len))) throw truncatedCapture('a pcapng block', r.consumed + r.available);
      const b = r.peek(len);
      if (rd32(b, len - 4, this.le) !== len) {
        throw new PacketError('ERR_CAPTURE_BAD_RECORD', `pcapng block at byte ${r.consumed}: trailing length differs`);
      }
      const at = r.consumed;
      const rec = this.block(type, b, len, at);
      r.skip(len);
      if (rec) return rec;
    }
  }

  private block(type: number, b: Uint8Array, len: number, at: number): CaptureRecord | null {
    const le = this.le;
    const end = len - 4;
    const bad = (what: string) => new PacketError('ERR_CAPTURE_BAD_RECORD', `pcapng block at byte ${at}: ${what}`);
    switch (type) {
      case SHB: {
        if (len < 28) throw bad('section header too short');
        const major = rd16(b, 12, le);
        if (major !== 1) throw new PacketError('ERR_CAPTURE_UNSUPPORTED', `pcapng major version ${major}`);
        this.interfaces = [];
        this.sectionComments = [];
        forEachOption(b, 24, end, le, (code, v, l) => {
          if (code === OPT_COMMENT) this.sectionComments.push(utf8.decode(b.subarray(v, v + l)));
        });
        return null;
      }
      case IDB: {
        if (len < 20) throw bad('interface description too short');
        const info: PcapngInterfaceInfo = { linkType: rd16(b, 8, le), snapLength: rd32(b, 12, le), tsresol: 6, tsoffset: 0n };
        forEachOption(b, 16, end, le, (code, v, l) => {
          if (code === IF_TSRESOL && l >= 1) info.tsresol = b[v];
          else if (code === IF_TSOFFSET && l >= 8) {
            const hi = BigInt.asIntN(32, BigInt(rd32(b, v + (le ? 4 : 0), le)));
            info.tsoffset = (hi << 32n) + BigInt(rd32(b, v + (le ? 0 : 4), le));
          } else if (code === IF_NAME) info.name = utf8.decode(b.subarray(v, v + l));
          else if (code === IF_DESCRIPTION) info.description = utf8.decode(b.subarray(v, v + l));
        });
        this.interfaces.push(info);
        return null;
      }
      case EPB:
      case PB: {
        if (len < 32) throw bad('packet block too short');
        const id = type === EPB ? rd32(b, 8, le) : rd16(b, 8, le);
        const iface = this.interfaces[id];
        if (!iface) throw bad(`packet on undeclared interface ${id}`);
        const units = (BigInt(rd32(b, 12, le)) << 32n) | BigInt(rd32(b, 16, le));
        const cap = rd32(b, 20, le);
        const dataEnd = 28 + ((cap + 3) & ~3);
        if (dataEnd > end) throw bad(`captured length ${cap} runs past the block`);
        const comments: string[] = [];
        forEachOption(b, dataEnd, end, le, (code, v, l) => {
          if (code === OPT_COMMENT) comments.push(utf8.decode(b.subarray(v, v + l)));
        });
        return {
          data: b.slice(28, 28 + cap),
          originalLength: rd32(b, 24, le),
          timestamp: unitsToNs(units, iface.tsresol) + iface.tsoffset * 1_000_000_000n,
          linkType: iface.linkType,
          interfaceId: id,
          comments,
        };
      }
      case SPB: {
        if (len < 16) throw bad('simple packet block too short');
        const iface = this.interfaces[0];
        if (!iface) throw bad('simple packet block without an interface');
        const orig = rd32(b, 8, le);
        // The captured length is implied: the original length, cut to the snap length and the block.
        let cap = Math.min(orig, end - 12);
        if (iface.snapLength > 0) cap = Math.min(cap, iface.snapLength);
        return { data: b.slice(12, 12 + cap), originalLength: orig, timestamp: 0n, linkType: iface.linkType, interfaceId: 0, comments: [] };
      }
      default:
        return null;
    }
  }
}

/** Iterate over the packet records of a pcapng file (path, stream, bytes). */
export function readPcapng(source: CaptureSource): AsyncIterable<CaptureRecord> {
  return new PcapngReader(source);
}

/** An interface to declare in the file (one IDB). */
export interface PcapngInterface {
  /** Default 1 (Ethernet). */
  linkType?: number;
  /** Default 262144; longer packets are cut (original length kept). */
  snapLength?: number;
  name?: string;
  description?: string;
  /** Nanosecond timestamps (if_tsresol 9). Default false: microseconds. */
  nanosecond?: boolean;
}

export interface PcapngWriterOptions {
  /** Byte order of the section. Default true (little-endian). */
  littleEndian?: boolean;
  /** shb_userappl. Default 'afxdp'. */
  application?: string;
  /** shb_hardware. */
  hardware?: string;
  /** shb_os. */
  os?: string;
  /** Section comment. */
  comment?: string;
  /** Interfaces declared up front; default one Ethernet interface (id 0). More can be added with `addInterface`. */
  interfaces?: PcapngInterface[];
}

export interface PcapngWriteOptions extends WriteRecordOptions {
  /** Interface id (default 0). */
  interfaceId?: number;
  /** One or more opt_comment values (e.g. the verdict). */
  comment?: string | string[];
  /** epb_flags (direction, reception type, FCS length...). */
  flags?: number;
}

type Option = [code: number, value: Uint8Array];

const utf8e = new TextEncoder();

function optionsLength(opts: Option[]): number {
  if (opts.length === 0) return 0;
  return opts.reduce((n, [, v]) => n + 4 + ((v.length + 3) & ~3), 4);
}

/** Streaming pcapng writer (one section). Like `PcapWriter`, `write` copies the frame first. */
export class PcapngWriter extends RecordWriter {
  private readonly le: boolean;
  private readonly ifaces: { snap: number; nano: boolean }[] = [];

  constructor(sink: CaptureSink, options: PcapngWriterOptions = {}) {
    super(sink);
    this.le = options.littleEndian ?? true;
    const opts: Option[] = [];
    if (options.comment !== undefined) opts.push([OPT_COMMENT, utf8e.encode(options.comment)]);
    if (options.hardware !== undefined) opts.push([SHB_HARDWARE, utf8e.encode(options.hardware)]);
    if (options.os !== undefined) opts.push([SHB_OS, utf8e.encode(options.os)]);
    opts.push([SHB_USERAPPL, utf8e.encode(options.application ?? 'afxdp')]);
    const shb = this.block(SHB, 16, opts, (b) => {
      wr32(b, 8, BYTE_ORDER_MAGIC, this.le);
      wr16(b, 12, 1, this.le);
      wr16(b, 14, 0, this.le);
      wr32(b, 16, 0xffffffff, this.le); // section length unknown (-1): we stream
      wr32(b, 20, 0xffffffff, this.le);
    });
    this.put(shb);
    for (const i of options.interfaces ?? [{}]) this.addInterface(i);
  }

  /** Lay out a block: 8-byte head, `fixed` body bytes filled by `fill`, options, trailing length. */
  private block(type: number, fixed: number, opts: Option[], fill: (b: Uint8Array) => void): Uint8Array {
    const len = 8 + fixed + optionsLength(opts) + 4;
    const b = new Uint8Array(len);
    wr32(b, 0, type, this.le);
    wr32(b, 4, len, this.le);
    fill(b);
    let o = 8 + fixed;
    for (const [code, v] of opts) {
      wr16(b, o, code, this.le);
      wr16(b, o + 2, v.length, this.le);
      b.set(v, o + 4);
      o += 4 + ((v.length + 3) & ~3);
    }
    // opt_endofopt is the zeroed 4 bytes already there
    wr32(b, len - 4, len, this.le);
    return b;
  }

  /** Declare another interface; returns its id for `write`. */
  addInterface(iface: PcapngInterface = {}): number {
    const snap = iface.snapLength ?? 262144;
    const nano = iface.nanosecond ?? false;
    const opts: Option[] = [];
    if (iface.name !== undefined) opts.push([IF_NAME, utf8e.encode(iface.name)]);
    if (iface.description !== undefined) opts.push([IF_DESCRIPTION, utf8e.encode(iface.description)]);
    if (nano) opts.push([IF_TSRESOL, Uint8Array.of(9)]);
    const idb = this.block(IDB, 8, opts, (b) => {
      wr16(b, 8, iface.linkType ?? LinkType.Ethernet, this.le);
      wr32(b, 12, snap, this.le);
    });
    this.put(idb);
    this.ifaces.push({ snap, nano });
    return this.ifaces.length - 1;
  }

  /** Append one Enhanced Packet Block. */
  write(data: Uint8Array, options: PcapngWriteOptions = {}): Promise<void> {
    const id = options.interfaceId ?? 0;
    const iface = this.ifaces[id];
    if (!iface) return Promise.reject(new PacketError('ERR_CAPTURE_BAD_RECORD', `no interface ${id} declared`));
    const cap = Math.min(data.length, iface.snap);
    const opts: Option[] = [];
    const comments = options.comment === undefined ? [] : Array.isArray(options.comment) ? options.comment : [options.comment];
    for (const c of comments) opts.push([OPT_COMMENT, utf8e.encode(c)]);
    if (options.flags !== undefined) {
      const f = new Uint8Array(4);
      wr32(f, 0, options.flags, this.le);
      opts.push([EPB_FLAGS, f]);
    }
    const ts = options.timestamp ?? nowNs();
    const units = iface.nano ? ts : ts / 1000n;
    const epb = this.block(EPB, 20 + ((cap + 3) & ~3), opts, (b) => {
      wr32(b, 8, id, this.le);
      wr32(b, 12, Number(units >> 32n), this.le);
      wr32(b, 16, Number(units & 0xffffffffn), this.le);
      wr32(b, 20, cap, this.le);
      wr32(b, 24, options.originalLength ?? data.length, this.le);
      b.set(data.subarray(0, cap), 28);
    });
    return this.put(epb);
  }
}
