/**
 * Cross-check against an independent decoder: thousands of random frames
 * built by the toolkit are written to pcap by the toolkit, decoded by tshark,
 * and every field the toolkit parses (checksum validity included, as tshark
 * judges it) must agree. Then capture files written by tshark/editcap in
 * several formats are read back and compared with tshark's view of them.
 *
 * tshark missing: the tests skip with the reason, except under CI=true where
 * they fail (CI installs it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import {
  PacketParser,
  PcapWriter,
  PcapngWriter,
  formatIPv4,
  formatIPv6,
  formatMac,
  readCapture,
  checksumFieldOffset,
  foldSum,
  onesSum,
  pseudoHeaderSum,
  readU16BE,
  readU32BE,
  tcpMss,
  type CaptureRecord,
} from '../../../ts/packet/index.js';
import { Rng, randomFrame } from './helpers.js';

const FRAMES = 3000;
const SEED = 0x5eed0003;
const BASE_TS = 1_700_000_000_123_456_789n;

const dir = mkdtempSync(join(tmpdir(), 'afxdp-tshark-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function have(tool: string): boolean {
  return spawnSync(tool, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** True if tshark and editcap are usable; otherwise skips (or fails under CI=true). */
function needTools(t: TestContext): boolean {
  const missing = ['tshark', 'editcap'].filter((x) => !have(x));
  if (missing.length === 0) return true;
  const reason = `${missing.join(' and ')} not found on PATH (install the tshark package)`;
  if (process.env.CI === 'true') assert.fail(`CI=true but ${reason}`);
  t.skip(reason);
  return false;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

type Fields = Record<string, string[]>;

const PREFS = [
  'ip.check_checksum:TRUE',
  'udp.check_checksum:TRUE',
  'tcp.check_checksum:TRUE',
  'ip.defragment:FALSE',
  'ipv6.defragment:FALSE',
  'tcp.analyze_sequence_numbers:FALSE',
].flatMap((p) => ['-o', p]);

/** Decode a capture with tshark, returning per frame the given fields (all occurrences, in order). */
function tshark(file: string, fields: string[]): Fields[] {
  const out = run('tshark', ['-r', file, ...PREFS, '-T', 'json', ...fields.flatMap((f) => ['-e', f])]);
  return (JSON.parse(out) as { _source: { layers: Fields } }[]).map((p) => p._source.layers);
}

const hex = (v: number, w: number) => '0x' + v.toString(16).padStart(w, '0');
const flag = (v: boolean) => (v ? '1' : '0');

/** Our view of a frame, in tshark's field names and formats. */
function ours(frame: Uint8Array, p: PacketParser): Fields {
  const b = frame;
  const f: Fields = {};
  const put = (k: string, v: string) => (f[k] ??= []).push(v);
  p.parse(b);
  put('eth.dst', formatMac(b, 0));
  put('eth.src', formatMac(b, 6));
  put('eth.type', hex(readU16BE(b, 12), 4));
  for (let i = 0, t = p.vlanOffset; i < p.vlanCount; i++, t += 4) {
    // tshark dissects an 802.1ad (0x88a8) tag as "ieee8021ad", with no etype field.
    const proto = readU16BE(b, t) === 0x88a8 ? 'ieee8021ad' : 'vlan';
    put(`${proto}.id`, String(readU16BE(b, t + 2) & 0xfff));
    put(`${proto}.priority`, String(b[t + 2] >>> 5));
    put(`${proto}.dei`, flag((b[t + 2] & 0x10) !== 0));
    if (proto === 'vlan') put('vlan.etype', hex(readU16BE(b, t + 4), 4));
  }
  const l3 = p.l3Offset;
  if (p.etherType === 0x0806 && l3 >= 0) {
    put('arp.opcode', String(readU16BE(b, l3 + 6)));
    put('arp.src.hw_mac', formatMac(b, l3 + 8));
    put('arp.src.proto_ipv4', formatIPv4(b, l3 + 14));
    put('arp.dst.hw_mac', formatMac(b, l3 + 18));
    put('arp.dst.proto_ipv4', formatIPv4(b, l3 + 24));
  }
  if (p.ipVersion === 4) {
    put('ip.version', '4');
    put('ip.hdr_len', String((b[l3] & 15) * 4));
    put('ip.dsfield.dscp', String(b[l3 + 1] >>> 2));
    put('ip.dsfield.ecn', String(b[l3 + 1] & 3));
    put('ip.len', String(readU16BE(b, l3 + 2)));
    put('ip.id', hex(readU16BE(b, l3 + 4), 4));
    put('ip.flags.df', flag((b[l3 + 6] & 0x40) !== 0));
    put('ip.flags.mf', flag(p.moreFragments));
    put('ip.frag_offset', String(p.fragmentOffset / 8));
    put('ip.ttl', String(p.ttl));
    put('ip.proto', String(p.l4Protocol));
    put('ip.checksum', hex(readU16BE(b, l3 + 10), 4));
    put('ip.checksum.status', flag(p.ipChecksumValid()));
    put('ip.src', formatIPv4(p.srcIPv4));
    put('ip.dst', formatIPv4(p.dstIPv4));
  } else if (p.ipVersion === 6) {
    put('ip.version', '6'); // tshark fills ip.version for IPv6 too
    const tc = ((b[l3] & 15) << 4) | (b[l3 + 1] >>> 4);
    put('ipv6.tclass', hex(tc, 8));
    put('ipv6.tclass.dscp', String(tc >>> 2));
    put('ipv6.tclass.ecn', String(tc & 3));
    put('ipv6.flow', hex(readU32BE(b, l3) & 0xfffff, 6));
    put('ipv6.plen', String(readU16BE(b, l3 + 4)));
    put('ipv6.nxt', String(b[l3 + 6]));
    put('ipv6.hlim', String(p.ttl));
    put('ipv6.src', formatIPv6(b, p.srcAddrOffset));
    put('ipv6.dst', formatIPv6(b, p.dstAddrOffset));
    if (p.fragmentHeaderOffset >= 0) {
      put('ipv6.fraghdr.offset', String(p.fragmentOffset / 8));
      put('ipv6.fraghdr.more', flag(p.moreFragments));
    }
  }
  const l4 = p.l4Offset;
  if (l4 < 0) return f;
  // tshark does not check an L4 checksum of a fragment: "unverified" (2).
  const status = () => (p.isFragment ? '2' : flag(p.l4ChecksumValid()));
  if (p.l4Protocol === 17) {
    put('udp.srcport', String(p.srcPort));
    put('udp.dstport', String(p.dstPort));
    put('udp.length', String(readU16BE(b, l4 + 4)));
    const c = readU16BE(b, l4 + 6);
    put('udp.checksum', hex(c, 4));
    // Zero: "not present" (3) over IPv4, "illegal" (4) over IPv6.
    put('udp.checksum.status', c === 0 ? (p.ipVersion === 4 ? '3' : '4') : status());
  } else if (p.l4Protocol === 6) {
    put('tcp.srcport', String(p.srcPort));
    put('tcp.dstport', String(p.dstPort));
    put('tcp.seq_raw', String(readU32BE(b, l4 + 4)));
    put('tcp.ack_raw', String(readU32BE(b, l4 + 8)));
    put('tcp.hdr_len', String((b[l4 + 12] >>> 4) * 4));
    put('tcp.flags', hex(p.tcpFlags, 4));
    put('tcp.window_size_value', String(readU16BE(b, l4 + 14)));
    put('tcp.checksum', hex(readU16BE(b, l4 + 16), 4));
    put('tcp.checksum.status', status());
    put('tcp.urgent_pointer', String(readU16BE(b, l4 + 18)));
    const mss = tcpMss(b, l4);
    if (mss >= 0) put('tcp.options.mss_val', String(mss));
  } else if (p.l4Protocol === 1) {
    put('icmp.type', String(p.icmpType));
    put('icmp.code', String(p.icmpCode));
    put('icmp.checksum', hex(readU16BE(b, l4 + 2), 4));
    put('icmp.checksum.status', status());
    put('icmp.ident', String(readU16BE(b, l4 + 4)));
    put('icmp.seq', String(readU16BE(b, l4 + 6)));
  } else if (p.l4Protocol === 58) {
    put('icmpv6.type', String(p.icmpType));
    put('icmpv6.code', String(p.icmpCode));
    put('icmpv6.checksum', hex(readU16BE(b, l4 + 2), 4));
    put('icmpv6.checksum.status', status());
    put('icmpv6.echo.identifier', hex(readU16BE(b, l4 + 4), 4));
    put('icmpv6.echo.sequence_number', String(readU16BE(b, l4 + 6)));
  }
  return f;
}

const FIELDS = [
  'eth.dst', 'eth.src', 'eth.type', 'ieee8021ad.id', 'ieee8021ad.priority', 'ieee8021ad.dei', 'vlan.id', 'vlan.priority', 'vlan.dei', 'vlan.etype',
  'arp.opcode', 'arp.src.hw_mac', 'arp.src.proto_ipv4', 'arp.dst.hw_mac', 'arp.dst.proto_ipv4',
  'ip.version', 'ip.hdr_len', 'ip.dsfield.dscp', 'ip.dsfield.ecn', 'ip.len', 'ip.id', 'ip.flags.df', 'ip.flags.mf',
  'ip.frag_offset', 'ip.ttl', 'ip.proto', 'ip.checksum', 'ip.checksum.status', 'ip.src', 'ip.dst',
  'ipv6.tclass', 'ipv6.tclass.dscp', 'ipv6.tclass.ecn', 'ipv6.flow', 'ipv6.plen', 'ipv6.nxt', 'ipv6.hlim',
  'ipv6.src', 'ipv6.dst', 'ipv6.fraghdr.offset', 'ipv6.fraghdr.more',
  'udp.srcport', 'udp.dstport', 'udp.length', 'udp.checksum', 'udp.checksum.status',
  'tcp.srcport', 'tcp.dstport', 'tcp.seq_raw', 'tcp.ack_raw', 'tcp.hdr_len', 'tcp.flags', 'tcp.window_size_value',
  'tcp.checksum', 'tcp.checksum.status', 'tcp.urgent_pointer', 'tcp.options.mss_val',
  'icmp.type', 'icmp.code', 'icmp.checksum', 'icmp.checksum.status', 'icmp.ident', 'icmp.seq',
  'icmpv6.type', 'icmpv6.code', 'icmpv6.checksum', 'icmpv6.checksum.status', 'icmpv6.echo.identifier',
  'icmpv6.echo.sequence_number',
];

/** The random frames, built once and shared by the tests below. */
const rng = new Rng(SEED);
const frames = Array.from({ length: FRAMES }, () => randomFrame(rng));
const stamp = (i: number) => BASE_TS + BigInt(i) * 1_000_003n;

test(`${FRAMES} random frames: every parsed field and checksum verdict agrees with tshark`, async (t) => {
  if (!needTools(t)) return;
  const file = join(dir, 'random.pcap');
  const w = new PcapWriter(file, { nanosecond: true });
  for (let i = 0; i < frames.length; i++) await w.write(frames[i].frame, { timestamp: stamp(i) });
  await w.close();
  const theirs = tshark(file, FIELDS);
  assert.equal(theirs.length, frames.length);
  const p = new PacketParser();
  const kinds: Record<string, number> = {};
  let compared = 0;
  for (let i = 0; i < frames.length; i++) {
    const { kind, frame, corrupted } = frames[i];
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    const mine = ours(frame, p);
    for (const name of FIELDS) {
      const a = mine[name] ?? [];
      // tshark may repeat a field further in (ICMP echo ids in both byte orders, a payload
      // dissected as a tunnel...): our occurrences must be its first ones.
      const b = (theirs[i][name] ?? []).slice(0, Math.max(a.length, 1));
      if (a.length === 0) {
        assert.deepEqual(b, [], `frame ${i + 1} (${kind}, seed ${SEED}): tshark has ${name}=${b} but the toolkit does not`);
      } else {
        assert.deepEqual(a, b, `frame ${i + 1} (${kind}${corrupted ? ', corrupted ' + corrupted : ''}, seed ${SEED}): ${name}`);
      }
      compared += a.length;
    }
  }
  t.diagnostic(`compared ${compared} field values over ${frames.length} frames: ${JSON.stringify(kinds)}`);
  // Every kind was generated, and corrupted checksums really were seen as bad by both.
  assert.equal(Object.keys(kinds).length, 10);
  assert.ok(frames.filter((f) => f.corrupted).length > 100);
});

/**
 * Frames whose IP header names a next hop, not the receiver: an SRv6
 * segment routing header (type 4), a type-0 routing header, IPv4 loose and
 * strict source routes (issue 15). Built by hand (no toolkit builder knows
 * these headers), each under UDP, TCP and ICMPv6/ICMP, with segments left
 * and, for contrast, with none left (then the header destination counts).
 */
function sourceRouteFrames(): { name: string; frame: Uint8Array }[] {
  const mac = [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
  const v6 = (last: number) => [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last];
  const v4 = (last: number) => [192, 0, 2, last];
  const l4 = (proto: number): number[] => {
    const payload = [0x61, 0x62, 0x63, 0x64, 0x65];
    if (proto === 17) return [0x30, 0x39, 0, 53, 0, 8 + payload.length, 0x12, 0x34, ...payload];
    if (proto === 6) return [0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0, 0x12, 0x34, 0, 0, ...payload];
    return [proto === 58 ? 128 : 8, 0, 0x12, 0x34, 0, 7, 0, 1, ...payload]; // echo request
  };
  const out: { name: string; frame: Uint8Array }[] = [];
  for (const proto of [17, 6, 58]) {
    // Routing headers: [next, hdr ext len, type, segments left, 4 bytes, addresses...].
    const routes: [string, number[]][] = [
      ['srh segleft 2', [proto, 6, 4, 2, 2, 0, 0, 0, ...v6(0x99), ...v6(0x98), ...v6(0x97)]],
      ['srh segleft 0', [proto, 6, 4, 0, 2, 0, 0, 0, ...v6(0x99), ...v6(0x98), ...v6(0x97)]],
      ['rh0 segleft 2', [proto, 4, 0, 2, 0, 0, 0, 0, ...v6(0x88), ...v6(0x89)]],
      ['rh0 segleft 0', [proto, 4, 0, 0, 0, 0, 0, 0, ...v6(0x88), ...v6(0x89)]],
      ['hbh + srh segleft 1', [43, 0, 1, 4, 0, 0, 0, 0, proto, 4, 4, 1, 1, 0, 0, 0, ...v6(0x77), ...v6(0x76)]],
    ];
    for (const [name, ext] of routes) {
      const upper = l4(proto);
      const plen = ext.length + upper.length;
      const first = name.startsWith('hbh') ? 0 : 43;
      const ip = [0x60, 0, 0, 0, plen >> 8, plen & 255, first, 64, ...v6(1), ...v6(2)];
      out.push({ name: `ipv6 ${name} / ${proto}`, frame: Uint8Array.from([...mac, 0x86, 0xdd, ...ip, ...ext, ...upper]) });
    }
    if (proto === 58) continue;
    // IPv4 options: [type, length, pointer, addresses...], padded to 4 bytes with NOP/EOL.
    const options: [string, number[]][] = [
      ['lsrr pointer 4', [1, 131, 11, 4, ...v4(0x66), ...v4(0x67)]],
      ['ssrr pointer 8', [1, 137, 11, 8, ...v4(0x66), ...v4(0x67)]],
      ['lsrr used up', [1, 131, 11, 12, ...v4(0x66), ...v4(0x67)]],
    ];
    for (const [name, opt] of options) {
      const upper = l4(proto);
      const hl = 20 + opt.length;
      const total = hl + upper.length;
      const ip = [0x40 | (hl / 4), 0, total >> 8, total & 255, 0, 1, 0, 0, 64, proto, 0, 0, ...v4(1), ...v4(2), ...opt];
      out.push({ name: `ipv4 ${name} / ${proto}`, frame: Uint8Array.from([...mac, 0x08, 0x00, ...ip, ...upper]) });
    }
  }
  return out;
}

/** tshark's and our fields for `frames`, compared field by field. */
async function compareFields(t: TestContext, file: string, list: { name: string; frame: Uint8Array }[]): Promise<Fields[]> {
  const w = new PcapWriter(file, { nanosecond: true });
  for (let i = 0; i < list.length; i++) await w.write(list[i].frame, { timestamp: stamp(i) });
  await w.close();
  const theirs = tshark(file, FIELDS);
  assert.equal(theirs.length, list.length);
  const p = new PacketParser();
  const mine = list.map(({ frame }) => ours(frame, p));
  for (let i = 0; i < list.length; i++) {
    for (const name of FIELDS) {
      // tshark shows an IPv4 source route's final destination as ip.dst;
      // the toolkit's dstIPv4 is the header's (the next hop).
      if (name === 'ip.dst') continue;
      const a = mine[i][name] ?? [];
      const b = (theirs[i][name] ?? []).slice(0, Math.max(a.length, 1));
      assert.deepEqual(a, a.length === 0 ? [] : b, `${list[i].name}: ${name} (tshark ${JSON.stringify(theirs[i][name])})`);
    }
  }
  t.diagnostic(`${list.length} frames agree with tshark`);
  return mine;
}

test('source routes (SRv6, type-0 routing header, IPv4 LSRR/SSRR): checksum validity and updateChecksums() agree with tshark', async (t) => {
  if (!needTools(t)) return;
  const list = sourceRouteFrames();
  const p = new PacketParser();
  // As built, every L4 checksum is 0x1234: wrong, for both.
  const wrong = await compareFields(t, join(dir, 'routes-wrong.pcap'), list);
  assert.ok(wrong.every((f) => ['udp', 'tcp', 'icmp', 'icmpv6'].some((x) => f[`${x}.checksum.status`]?.[0] === '0')));
  // updateChecksums() writes what tshark, using the final destination, calls good.
  const fixed = list.map(({ name, frame }) => {
    const copy = frame.slice();
    assert.equal(p.parse(copy), 0, name);
    p.updateChecksums();
    assert.ok(p.l4ChecksumValid(), `${name}: valid after updateChecksums()`);
    return { name, frame: copy };
  });
  const good = await compareFields(t, join(dir, 'routes-fixed.pcap'), fixed);
  assert.ok(good.every((f) => ['udp', 'tcp', 'icmp', 'icmpv6'].some((x) => f[`${x}.checksum.status`]?.[0] === '1')));
  // Where a route has hops to go, the header destination gives another
  // checksum (which both call bad); where none are left, the same one.
  let differ = 0;
  for (let i = 0; i < list.length; i++) {
    const b = list[i].frame.slice();
    p.parse(b);
    const field = p.l4Offset + checksumFieldOffset(p.l4Protocol);
    b[field] = b[field + 1] = 0;
    // The pseudo-header without l4Offset: the IP header's destination.
    const sum = pseudoHeaderSum(b, p.l3Offset, p.l4Protocol, p.l4End - p.l4Offset) + onesSum(b, p.l4Offset, p.l4End);
    const same = (~foldSum(sum) & 0xffff) === readU16BE(fixed[i].frame, field);
    const routed = !/segleft 0|used up/.test(list[i].name);
    assert.equal(same, !routed, `${list[i].name}: the final destination ${routed ? 'changes' : 'keeps'} the checksum`);
    if (routed) differ++;
  }
  assert.ok(differ >= 10);
});

/** Compare records we read with tshark's frame lengths, timestamps and comments. */
async function compareWithTshark(file: string, expectFrames: Uint8Array[], resolutionNs: bigint): Promise<CaptureRecord[]> {
  const recs: CaptureRecord[] = [];
  for await (const r of readCapture(file)) recs.push(r);
  const theirs = tshark(file, ['frame.time_epoch', 'frame.len', 'frame.cap_len', 'frame.comment', 'frame.interface_id']);
  assert.equal(recs.length, theirs.length);
  assert.equal(recs.length, expectFrames.length);
  for (let i = 0; i < recs.length; i++) {
    const [sec, frac] = theirs[i]['frame.time_epoch'][0].split('.');
    const ns = BigInt(sec) * 1_000_000_000n + BigInt(frac.padEnd(9, '0'));
    assert.equal(recs[i].timestamp, ns, `record ${i + 1} timestamp`);
    assert.equal(recs[i].timestamp, (stamp(i) / resolutionNs) * resolutionNs, `record ${i + 1} timestamp resolution`);
    assert.equal(recs[i].originalLength, Number(theirs[i]['frame.len'][0]));
    assert.equal(recs[i].data.length, Number(theirs[i]['frame.cap_len'][0]));
    assert.deepEqual(recs[i].data, expectFrames[i]);
    assert.deepEqual(recs[i].comments, theirs[i]['frame.comment'] ?? []);
  }
  return recs;
}

const sample = () => frames.slice(0, 300).map((f) => f.frame);

test('reads pcap and pcapng files written by editcap (usec, nsec, both containers, modified pcap)', async (t) => {
  if (!needTools(t)) return;
  const src = join(dir, 'src-ns.pcap');
  const w = new PcapWriter(src, { nanosecond: true });
  const data = sample();
  for (let i = 0; i < data.length; i++) await w.write(data[i], { timestamp: stamp(i) });
  await w.close();
  const cases: [string, string[], bigint][] = [
    ['usec.pcap', ['-F', 'pcap'], 1000n],
    ['nsec.pcap', ['-F', 'nsecpcap'], 1n],
    ['nsec.pcapng', ['-F', 'pcapng'], 1n],
    ['usec.pcapng', ['-F', 'pcapng'], 1000n],
    ['modified.pcap', ['-F', 'modpcap'], 1000n],
  ];
  for (const [name, args, res] of cases) {
    const out = join(dir, name);
    if (name === 'usec.pcapng') run('editcap', [...args, join(dir, 'usec.pcap'), out]);
    else run('editcap', [...args, src, out]);
    await t.test(name, async () => {
      await compareWithTshark(out, data, res);
    });
  }
});

test('reads per-packet comments that editcap added to a pcapng file', async (t) => {
  if (!needTools(t)) return;
  const src = join(dir, 'plain.pcapng');
  const w = new PcapngWriter(src, { interfaces: [{ nanosecond: true }] });
  const data = sample().slice(0, 20);
  for (let i = 0; i < data.length; i++) await w.write(data[i], { timestamp: stamp(i) });
  await w.close();
  const out = join(dir, 'commented.pcapng');
  run('editcap', ['-a', '1:first frame', '-a', '7:verdict=drop', '-a', '20:ünïcode ✓', src, out]);
  const recs = await compareWithTshark(out, data, 1n);
  assert.deepEqual(recs[0].comments, ['first frame']);
  assert.deepEqual(recs[6].comments, ['verdict=drop']);
  assert.deepEqual(recs[19].comments, ['ünïcode ✓']);
});

test('tshark reads what our writers produce: pcap/pcapng x usec/nsec x little/big endian, with comments', async (t) => {
  if (!needTools(t)) return;
  const data = sample().slice(0, 50);
  for (const littleEndian of [true, false]) {
    for (const nanosecond of [false, true]) {
      const tag = `${littleEndian ? 'le' : 'be'}-${nanosecond ? 'ns' : 'us'}`;
      await t.test(`pcap ${tag}`, async () => {
        const file = join(dir, `ours-${tag}.pcap`);
        const w = new PcapWriter(file, { littleEndian, nanosecond });
        for (let i = 0; i < data.length; i++) await w.write(data[i], { timestamp: stamp(i) });
        await w.close();
        await compareWithTshark(file, data, nanosecond ? 1n : 1000n);
      });
      await t.test(`pcapng ${tag}`, async () => {
        const file = join(dir, `ours-${tag}.pcapng`);
        const w = new PcapngWriter(file, { littleEndian, interfaces: [{ nanosecond, name: 'veth0' }] });
        for (let i = 0; i < data.length; i++) {
          await w.write(data[i], { timestamp: stamp(i), comment: i % 3 === 0 ? [`verdict=${i % 2 ? 'tx' : 'drop'}`] : undefined });
        }
        await w.close();
        const recs = await compareWithTshark(file, data, nanosecond ? 1n : 1000n);
        assert.deepEqual(recs[3].comments, ['verdict=tx']);
      });
    }
  }
});
