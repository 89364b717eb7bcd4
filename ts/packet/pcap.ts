/**
 * Classic libpcap files: read and write, streaming, microsecond and
 * nanosecond timestamps, either byte order (and the "modified" Kuznetzov
 * variant on read). Format: https://datatracker.ietf.org/doc/draft-ietf-opsawg-pcap/
 *
 *   for await (const rec of readPcap('in.pcap')) { ... rec.data, rec.timestamp ... }
 *
 *   const w = new PcapWriter('out.pcap', { nanosecond: true });
 *   await w.write(frame, { timestamp: 1700000000123456789n });
 *   await w.close();
 */
import {
  LinkType,
  MAX_RECORD_BYTES,
  nowNs,
  rd32,
  rd16,
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

const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;
/** Alexey Kuznetzov's patched libpcap: 8 more bytes per record header. */
const MAGIC_MODIFIED = 0xa1b2cd34;

/** True if the first 4 bytes are a pcap magic number (either byte order). */
export function isPcapMagic(b: Uint8Array): boolean {
  const le = rd32(b, 0, true);
  const be = rd32(b, 0, false);
  return [MAGIC_USEC, MAGIC_NSEC, MAGIC_MODIFIED].some((m) => m === le || m === be);
}

/** What a pcap file header says. */
export interface PcapHeader {
  littleEndian: boolean;
  nanosecond: boolean;
  /** The Kuznetzov variant (24-byte record headers). */
  modified: boolean;
  versionMajor: number;
  versionMinor: number;
  snapLength: number;
  linkType: number;
  /** FCS length in bytes announced in the link-type field (0 if none). */
  fcsLength: number;
}

/** Streaming pcap reader: an async iterable of records. */
export class PcapReader extends RecordReader {
  /** Set once the header has been read (by `readHeader` or the first record). */
  header: PcapHeader | null = null;

  async readHeader(): Promise<PcapHeader> {
    if (this.header) return this.header;
    const r = this.r;
    const whole = await r.ensure(24);
    if (r.available === 0) throw new PacketError('ERR_CAPTURE_BAD_MAGIC', 'empty input: not a pcap file');
    if (r.available >= 4 && !isPcapMagic(r.peek(4))) {
      throw new PacketError('ERR_CAPTURE_BAD_MAGIC', `not a pcap file (magic 0x${rd32(r.peek(4), 0, false).toString(16)})`);
    }
    if (!whole) throw truncatedCapture('the pcap file header', r.consumed + r.available);
    const h = r.peek(24);
    let le = true;
    let magic = rd32(h, 0, true);
    if (magic !== MAGIC_USEC && magic !== MAGIC_NSEC && magic !== MAGIC_MODIFIED) {
      le = false;
      magic = rd32(h, 0, false);

    }
    const versionMajor = rd16(h, 4, le);
    if (versionMajor !== 2) throw new PacketError('ERR_CAPTURE_UNSUPPORTED', `pcap version ${versionMajor} (only 2.x is defined)`);
    const lt = rd32(h, 20, le);
    this.header = {
      littleEndian: le,
      nanosecond: magic === MAGIC_NSEC,
      modified: magic === MAGIC_MODIFIED,
      versionMajor,
      versionMinor: rd16(h, 6, le),
      snapLength: rd32(h, 16, le),
      // The link-type field: FCS length in 16-bit words (bits 28-31), the F bit
      // saying it is present (bit 27), reserved bits, then the link type (0-15).
      linkType: lt & 0xffff,
      fcsLength: lt & 0x08000000 ? ((lt >>> 28) & 0xf) * 2 : 0,
    };
    r.skip(24);
    return this.header;
  }

  /** The next record, or null at the end of the file. */
  async next(): Promise<CaptureRecord | null> {
    const h = await this.readHeader();
    const r = this.r;
    const hl = h.modified ? 24 : 16;
    if (!(await r.ensure(hl))) {
      if (r.available === 0) return null;
      throw truncatedCapture('a pcap record header', r.consumed + r.available);
    }
    const rh = r.peek(hl);
    const sec = rd32(rh, 0, h.littleEndian);
    const frac = rd32(rh, 4, h.littleEndian);
    const capLen = rd32(rh, 8, h.littleEndian);
    const origLen = rd32(rh, 12, h.littleEndian);
    if (capLen > MAX_RECORD_BYTES) {
      throw new PacketError('ERR_CAPTURE_BAD_RECORD', `pcap record at byte ${r.consumed} claims ${capLen} bytes`);
    }
    r.skip(hl);
    if (!(await r.ensure(capLen))) throw truncatedCapture('a pcap record', r.consumed + r.available);
    const data = r.take(capLen);
    return {
      data,
      originalLength: origLen,
      timestamp: BigInt(sec) * 1_000_000_000n + BigInt(frac) * (h.nanosecond ? 1n : 1000n),
      linkType: h.linkType,
      interfaceId: 0,
      comments: [],
    };
  }
}

/** Iterate over the records of a pcap file (path, stream, bytes). */
export function readPcap(source: CaptureSource): AsyncIterable<CaptureRecord> {
  return new PcapReader(source);
}

export interface PcapWriterOptions {
  /** Default 1 (Ethernet). */
  linkType?: number;
  /** Longer packets are cut to this length (original length kept). Default 262144. */
  snapLength?: number;
  /** Nanosecond timestamps (magic a1b23c4d). Default false: microseconds. */
  nanosecond?: boolean;
  /** Byte order of the file's headers. Default true (little-endian, as most writers). */
  littleEndian?: boolean;
}

/**
 * Streaming pcap writer. Each `write` copies the frame before returning, so
 * the caller may reuse its buffer (a UMEM frame) at once; the promise resolves
 * when the sink accepted the bytes (await it for backpressure).
 */
export class PcapWriter extends RecordWriter {
  private readonly le: boolean;
  private readonly nano: boolean;
  private readonly snap: number;

  constructor(sink: CaptureSink, options: PcapWriterOptions = {}) {
    super(sink);
    this.le = options.littleEndian ?? true;
    this.nano = options.nanosecond ?? false;
    this.snap = options.snapLength ?? 262144;
    const h = new Uint8Array(24);
    wr32(h, 0, this.nano ? MAGIC_NSEC : MAGIC_USEC, this.le);
    wr16(h, 4, 2, this.le);
    wr16(h, 6, 4, this.le);
    wr32(h, 16, this.snap, this.le);
    wr32(h, 20, options.linkType ?? LinkType.Ethernet, this.le);
    this.put(h);
  }

  /** Append one record. */
  write(data: Uint8Array, options: WriteRecordOptions = {}): Promise<void> {
    const cap = Math.min(data.length, this.snap);
    const rec = new Uint8Array(16 + cap);
    const ts = options.timestamp ?? nowNs();
    const sec = ts / 1_000_000_000n;
    const ns = ts % 1_000_000_000n;
    wr32(rec, 0, Number(sec), this.le);
    wr32(rec, 4, Number(this.nano ? ns : ns / 1000n), this.le);
    wr32(rec, 8, cap, this.le);
    wr32(rec, 12, options.originalLength ?? data.length, this.le);
    rec.set(data.subarray(0, cap), 16);
    return this.put(rec);
  }
}
