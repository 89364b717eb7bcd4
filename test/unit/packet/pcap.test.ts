/** pcap and pcapng: round trips, streaming, hand-made blocks, and errors with stable codes. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, test } from 'node:test';
import * as P from '../../../ts/packet/index.js';
import { Rng, randomFrame } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'afxdp-pcap-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const code = (c: string) => (e: unknown) => e instanceof P.PacketError && e.code === c;

/** A sink collecting chunks, and the bytes so far. */
function memorySink(): { sink: (c: Uint8Array) => void; bytes: () => Uint8Array } {
  const chunks: Uint8Array[] = [];
  return { sink: (c) => void chunks.push(c.slice()), bytes: () => new Uint8Array(Buffer.concat(chunks)) };
}

async function collect(src: AsyncIterable<P.CaptureRecord>): Promise<P.CaptureRecord[]> {
  const out: P.CaptureRecord[] = [];
  for await (const r of src) out.push(r);
  return out;
}

const rng = new Rng(42);
const frames = Array.from({ length: 50 }, () => randomFrame(rng).frame);
const ts = (i: number) => 1_600_000_000_000_000_000n + BigInt(i) * 123_456_789n;

test('pcap round trip: both byte orders and resolutions, snap length, original length', async () => {
  for (const littleEndian of [true, false]) {
    for (const nanosecond of [true, false]) {
      const m = memorySink();
      const w = new P.PcapWriter(m.sink, { littleEndian, nanosecond, snapLength: 100, linkType: P.LinkType.Ethernet });
      for (let i = 0; i < frames.length; i++) await w.write(frames[i], { timestamp: ts(i) });
      await w.write(frames[0], { timestamp: 5n, originalLength: 9000 });
      await w.close();
      const bytes = m.bytes();
      const r = new P.PcapReader(bytes);
      const h = await r.readHeader();
      assert.deepEqual([h.littleEndian, h.nanosecond, h.snapLength, h.linkType, h.versionMajor, h.versionMinor], [littleEndian, nanosecond, 100, 1, 2, 4]);
      const recs = await collect(r);
      assert.equal(recs.length, frames.length + 1);
      for (let i = 0; i < frames.length; i++) {
        assert.deepEqual(recs[i].data, frames[i].subarray(0, 100));
        assert.equal(recs[i].originalLength, frames[i].length);
        assert.equal(recs[i].timestamp, nanosecond ? ts(i) : (ts(i) / 1000n) * 1000n);
        assert.deepEqual([recs[i].linkType, recs[i].interfaceId, recs[i].comments], [1, 0, []]);
      }
      assert.equal(recs[frames.length].originalLength, 9000);
      // The format-sniffing reader gives the same records.
      assert.deepEqual(await collect(P.readCapture(bytes)), recs);
    }
  }
});

test('pcapng round trip: interfaces, resolutions, comments (several, unicode), flags', async () => {
  for (const littleEndian of [true, false]) {
    const m = memorySink();
    const w = new P.PcapngWriter(m.sink, { littleEndian, comment: 'section', hardware: 'hw', os: 'linux', interfaces: [{ name: 'veth0', nanosecond: true }] });
    const id = w.addInterface({ linkType: P.LinkType.Raw, name: 'tun0', description: 'raw IP', snapLength: 64 });
    assert.equal(id, 1);
    for (let i = 0; i < frames.length; i++) {
      await w.write(frames[i], { timestamp: ts(i), interfaceId: i % 2, comment: i % 3 === 0 ? ['verdict=drop', `#${i} ✓`] : i % 3 === 1 ? 'verdict=tx' : undefined, flags: i % 2 ? 1 : undefined });
    }
    await w.close();
    const r = new P.PcapngReader(m.bytes());
    const recs = await collect(r);
    assert.equal(recs.length, frames.length);
    assert.deepEqual(r.sectionComments, ['section']);
    assert.deepEqual(r.interfaces.map((x) => [x.linkType, x.name, x.tsresol, x.snapLength, x.description]), [
      [1, 'veth0', 9, 262144, undefined],
      [101, 'tun0', 6, 64, 'raw IP'],
    ]);
    for (let i = 0; i < frames.length; i++) {
      const odd = i % 2 === 1;
      assert.deepEqual(recs[i].data, odd ? frames[i].subarray(0, 64) : frames[i]);
      assert.equal(recs[i].interfaceId, i % 2);
      assert.equal(recs[i].linkType, odd ? 101 : 1);
      assert.equal(recs[i].timestamp, odd ? (ts(i) / 1000n) * 1000n : ts(i));
      assert.deepEqual(recs[i].comments, i % 3 === 0 ? ['verdict=drop', `#${i} ✓`] : i % 3 === 1 ? ['verdict=tx'] : []);
    }
  }
});

/** Hand-made pcapng blocks (little-endian) for features our writer does not produce. */
function block(type: number, body: number[]): number[] {
  const len = 12 + body.length;
  const u32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];
  return [...u32(type), ...u32(len), ...body, ...u32(len)];
}
const u16 = (v: number) => [v & 255, v >>> 8];
const u32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];
const shb = () => block(0x0a0d0d0a, [...u32(0x1a2b3c4d), ...u16(1), ...u16(0), ...u32(0xffffffff), ...u32(0xffffffff)]);

test('pcapng: binary tsresol, tsoffset, simple and obsolete packet blocks, unknown blocks, two sections', async () => {
  const data = [1, 2, 3, 4, 5];
  const bytes = Uint8Array.from([
    ...shb(),
    // IDB: Ethernet, snap 4, if_tsresol = 2^-10, if_tsoffset = 100 s
    ...block(1, [...u16(1), 0, 0, ...u32(4), ...u16(9), ...u16(1), 0x8a, 0, 0, 0, ...u16(14), ...u16(8), ...u32(100), ...u32(0), 0, 0, 0, 0]),
    // EPB: ts units = 1024 * 3 + 512 -> 3.5 s (+100 s offset)
    ...block(6, [...u32(0), ...u32(0), ...u32(1024 * 3 + 512), ...u32(4), ...u32(5), 1, 2, 3, 4]),
    // SPB: original length 5, captured = min(5, snap 4)
    ...block(3, [...u32(5), ...data, 0, 0, 0]),
    // A name resolution block and a custom block: skipped
    ...block(4, [0, 0, 0, 0]),
    ...block(0x00000bad, [1, 2, 3, 4]),
    // Obsolete packet block with a comment.
    ...block(2, [...u16(0), ...u16(0), ...u32(0), ...u32(1024), ...u32(2), ...u32(2), 9, 9, 0, 0, ...u16(1), ...u16(2), 0x68, 0x69, 0, 0, 0, 0, 0, 0]),
    // A second section resets the interfaces.
    ...shb(),
    ...block(1, [...u16(101), 0, 0, ...u32(0)]),
    ...block(6, [...u32(0), ...u32(0), ...u32(7), ...u32(1), ...u32(1), 0x45, 0, 0, 0]),
  ]);
  const recs = await collect(P.readPcapng(bytes));
  assert.equal(recs.length, 4);
  assert.deepEqual([...recs[0].data], [1, 2, 3, 4]);
  assert.equal(recs[0].timestamp, 103_500_000_000n);
  assert.deepEqual([recs[1].originalLength, [...recs[1].data]], [5, [1, 2, 3, 4]]);
  assert.deepEqual([recs[2].comments, [...recs[2].data], recs[2].timestamp], [['hi'], [9, 9], 100_000_000_000n + 1_000_000_000n]);
  assert.deepEqual([recs[3].linkType, recs[3].timestamp, [...recs[3].data]], [101, 7000n, [0x45]]);
});

test('streaming: a capture larger than any buffer goes through in constant memory, from any chunking', async () => {
  // 200 000 records generated lazily, delivered in random-sized chunks that split headers and records.
  const N = 200_000;
  const frame = frames[3];
  // One plain and one commented record, laid out once; each copy gets its own timestamp.
  const layout = async (comment?: string) => {
    const m = memorySink();
    const w = new P.PcapngWriter(m.sink);
    await w.write(frame, { timestamp: 0n, comment });
    await w.close();
    return m.bytes();
  };
  const empty = memorySink();
  await new P.PcapngWriter(empty.sink).close();
  const head = empty.bytes(); // SHB + IDB
  const plain = (await layout()).subarray(head.length);
  const commented = (await layout('n')).subarray(head.length);
  async function* source(): AsyncGenerator<Uint8Array> {
    yield head;
    const chunkRng = new Rng(9);
    const batch = new Uint8Array(64 * 1024);
    for (let i = 0; i < N; ) {
      // Fill a batch of records, then hand it out in random-sized pieces.
      let o = 0;
      for (; i < N && o + commented.length <= batch.length; i++) {
        const rec = i % 1000 === 0 ? commented : plain;
        batch.set(rec, o);
        const t = BigInt(i) * 1000n; // microseconds: the default interface resolution
        new DataView(batch.buffer).setUint32(o + 12, Number(t >> 32n), true);
        new DataView(batch.buffer).setUint32(o + 16, Number(t & 0xffffffffn), true);
        o += rec.length;
      }
      for (let p = 0; p < o; ) {
        const n = 1 + chunkRng.int(700);
        yield batch.slice(p, Math.min(o, p + n));
        p += n;
      }
    }
  }
  let count = 0;
  let comments = 0;
  let maxHeap = 0;
  const heap0 = process.memoryUsage().heapUsed;
  for await (const r of P.readCapture(source())) {
    if (r.data.length !== frame.length || r.timestamp !== BigInt(count) * 1_000_000n) assert.fail(`record ${count}: ${r.timestamp}`);
    comments += r.comments.length;
    count++;
    if ((count & 4095) === 0) maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed - heap0);
  }
  assert.equal(count, N);
  assert.equal(comments, N / 1000);
  // 200k records of ~100 bytes is 20+ MB of capture; the reader holds a few chunks at a time.
  assert.ok(maxHeap < 64 * 1024 * 1024, `heap grew by ${maxHeap}`);
});

test('file paths, Node streams and web streams as sources and sinks', async () => {
  const file = join(dir, 'a.pcap');
  const w = new P.PcapWriter(file);
  for (const f of frames) await w.write(f, { timestamp: 1n });
  await w.close();
  assert.equal((await collect(P.readCapture(file))).length, frames.length);
  // Node Writable -> Node Readable.
  const pass = new PassThrough();
  const w2 = new P.PcapngWriter(pass);
  const reading = collect(P.readCapture(pass));
  for (const f of frames) await w2.write(f, { comment: 'x' });
  await w2.close();
  assert.equal((await reading).length, frames.length);
  // Web WritableStream -> web ReadableStream.
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const w3 = new P.PcapWriter(writable, { nanosecond: true });
  const reading3 = collect(P.readPcap(readable));
  for (const f of frames) await w3.write(f);
  await w3.close();
  const recs = await reading3;
  assert.equal(recs.length, frames.length);
  // Default timestamps are "now".
  const now = BigInt(Date.now()) * 1_000_000n;
  assert.ok(recs[0].timestamp > now - 60_000_000_000n && recs[0].timestamp <= now + 1_000_000_000n);
  // Stopping early closes the file.
  for await (const r of P.readCapture(file)) {
    assert.ok(r.data.length > 0);
    break;
  }
});

test('errors have stable codes', async () => {
  await assert.rejects(collect(P.readCapture(new Uint8Array(0))), code('ERR_CAPTURE_BAD_MAGIC'));
  await assert.rejects(collect(P.readCapture(Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8))), code('ERR_CAPTURE_BAD_MAGIC'));
  await assert.rejects(collect(P.readPcap(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a))), code('ERR_CAPTURE_BAD_MAGIC'));
  await assert.rejects(collect(P.readPcapng(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 0, 0, 0, 0, 0, 0, 0, 0))), code('ERR_CAPTURE_BAD_MAGIC'));
  // A good file cut at every length: truncated, never anything else.
  const m = memorySink();
  const w = new P.PcapWriter(m.sink);
  await w.write(frames[0], { timestamp: 1n });
  await w.close();
  const good = m.bytes();
  for (let n = 1; n < good.length; n++) {
    if (n === 24) {
      assert.equal((await collect(P.readPcap(good.subarray(0, n)))).length, 0, 'a header alone is an empty capture');
      continue;
    }
    await assert.rejects(collect(P.readPcap(good.subarray(0, n))), code('ERR_CAPTURE_TRUNCATED'), `cut at ${n}`);
  }
  const mg = memorySink();
  const wg = new P.PcapngWriter(mg.sink);
  await wg.write(frames[0], { comment: 'c' });
  await wg.close();
  const goodng = mg.bytes();
  // Cut at a block boundary it is a shorter valid file; anywhere else, truncated.
  const le32 = (b: Uint8Array, o: number) => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
  const boundaries = new Set<number>();
  for (let o = 0; o < goodng.length; o += le32(goodng, o + 4)) boundaries.add(o);
  for (let n = 1; n < goodng.length; n++) {
    if (boundaries.has(n)) {
      assert.equal((await collect(P.readPcapng(goodng.subarray(0, n)))).length, 0, `cut at block boundary ${n}`);
      continue;
    }
    await assert.rejects(collect(P.readPcapng(goodng.subarray(0, n))), (e: unknown) => e instanceof P.PacketError && ['ERR_CAPTURE_TRUNCATED', 'ERR_CAPTURE_BAD_MAGIC'].includes(e.code), `cut at ${n}`);
  }
  // Record length far beyond sanity.
  const huge = good.slice();
  huge.set([0xff, 0xff, 0xff, 0x7f], 24 + 8);
  await assert.rejects(collect(P.readPcap(huge)), code('ERR_CAPTURE_BAD_RECORD'));
  // A link-type field announcing a 4-byte FCS (F bit, length 2 words).
  const fcs = good.slice();
  fcs.set([1, 0, 0, 0x28], 20);
  const fr = new P.PcapReader(fcs);
  assert.deepEqual([(await fr.readHeader()).linkType, (await fr.readHeader()).fcsLength], [1, 4]);
  // pcap version 3.
  const v3 = good.slice();
  v3[4] = 3;
  await assert.rejects(collect(P.readPcap(v3)), code('ERR_CAPTURE_UNSUPPORTED'));
  // pcapng: block length not a multiple of 4, trailing length mismatch, packet on an undeclared interface.
  await assert.rejects(collect(P.readPcapng(Uint8Array.from([...shb(), 6, 0, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0]))), code('ERR_CAPTURE_BAD_RECORD'));
  const mismatch = Uint8Array.from([...shb(), ...block(4, [0, 0, 0, 0])]);
  mismatch[mismatch.length - 4] = 99;
  await assert.rejects(collect(P.readPcapng(mismatch)), code('ERR_CAPTURE_BAD_RECORD'));
  await assert.rejects(collect(P.readPcapng(Uint8Array.from([...shb(), ...block(6, [...u32(3), ...u32(0), ...u32(0), ...u32(0), ...u32(0)])]))), code('ERR_CAPTURE_BAD_RECORD'));
  // Writers: after close, and an undeclared interface.
  const w4 = new P.PcapngWriter(() => {});
  await assert.rejects(w4.write(frames[0], { interfaceId: 5 }), code('ERR_CAPTURE_BAD_RECORD'));
  await w4.close();
  await assert.rejects(w4.write(frames[0]), code('ERR_CAPTURE_WRITER_CLOSED'));
  // A sink that fails.
  const w5 = new P.PcapWriter(join(dir, 'no/such/dir/x.pcap'));
  await assert.rejects(w5.close(), code('ERR_CAPTURE_WRITER_CLOSED'));
  writeFileSync(join(dir, 'empty.pcap'), '');
  await assert.rejects(collect(P.readCapture(join(dir, 'empty.pcap'))), code('ERR_CAPTURE_BAD_MAGIC'));
});
