/**
 * Jumbo frames offline: runHandler and `afxdp replay` split a frame larger
 * than one UMEM frame into segments as a multi-buffer port receives it, and
 * the packet's segment-aware accessors read and edit any byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHandler } from '../../ts/replay.js';
import { Verdict } from '../../ts/verdict.js';
import { PcapWriter } from '../../ts/packet/pcap.js';
import { readCapture } from '../../ts/packet/capture.js';
import { udpFrame } from '../helpers/frames.js';

const bin = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'afxdp.js');

function jumbo(length: number, seed = 1): Uint8Array {
  const f = udpFrame({ dstMac: '02:00:00:00:00:01', srcMac: '02:00:00:00:00:02', srcIp: '192.0.2.2', dstIp: '192.0.2.1', srcPort: 40000, dstPort: 7, length, seed });
  for (let k = 42; k < length; k++) f[k] = (k * 31 + seed) & 255;
  return f;
}

test('a 9014-byte frame is one packet of 3 segments; every byte reads as sent', () => {
  const f = jumbo(9014);
  const seen: number[] = [];
  const r = runHandler((p) => {
    seen.push(p.length, p.segments, p.bytes.length);
    // Fast path in the first segment, slow path past it, and across the boundary.
    assert.equal(p.u16(12), 0x0800);
    assert.equal(p.u8(5000), f[5000]);
    assert.equal(p.u32(3838), ((f[3838]! << 24) | (f[3839]! << 16) | (f[3840]! << 8) | f[3841]!) >>> 0);
    const copy = new Uint8Array(p.length);
    p.readBytes(0, copy);
    assert.deepEqual(copy, f);
    assert.throws(() => p.u8(9014), RangeError);
    assert.throws(() => p.u16(9013), RangeError);
    return Verdict.Tx;
  }, [f]);
  assert.deepEqual(seen, [9014, 3, 3840]);
  assert.deepEqual(r.verdicts, ['tx']);
  assert.deepEqual(r.sent[0], f);
});

test('edits in later segments and truncation across a boundary come out as made', () => {
  const f = jumbo(9014);
  const r = runHandler((p) => {
    p.setU8(8000, 0xab);
    p.setU16(7679, 0xbeef); // straddles the second/third segment boundary (7680)
    p.writeBytes(3838, Uint8Array.of(1, 2, 3, 4));
    if (p.u8(8000) !== 0xab) return Verdict.Drop;
    return Verdict.Tx;
  }, [f]);
  const want = new Uint8Array(f);
  want[8000] = 0xab;
  want.set([0xbe, 0xef], 7679);
  want.set([1, 2, 3, 4], 3838);
  assert.deepEqual(r.sent[0], want);

  const cut = runHandler((p) => {
    p.setLength(4000);
    assert.equal(p.bytes.length, 3840);
    assert.throws(() => p.u8(4000), RangeError);
    assert.throws(() => p.setLength(9015), RangeError, 'a chain is cut, not grown');
    return Verdict.Tx;
  }, [f]);
  assert.deepEqual(cut.sent[0], f.subarray(0, 4000));
  const short = runHandler((p) => {
    p.setLength(100);
    assert.equal(p.segments, 3);
    return Verdict.Tx;
  }, [f]);
  assert.deepEqual(short.sent[0], f.subarray(0, 100));
});

test('afxdp replay: a 9000-byte frame in a capture replays with the same verdict and bytes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-jumbo-'));
  try {
    const input = join(dir, 'in.pcap');
    const w = new PcapWriter(input);
    const frames = [jumbo(9014, 1), jumbo(60, 2), jumbo(5000, 3)];
    for (const f of frames) await w.write(f);
    await w.close();
    const out = join(dir, 'out.pcapng');
    const r = spawnSync(process.execPath, [bin, 'replay', 'examples/reflector.ts', '--in', input, '--out', out, '--sent-only'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const direct = runHandler((await import('../../examples/reflector.js')).default as never, frames);
    const recs = [];
    for await (const rec of readCapture(out)) recs.push(rec.data);
    assert.equal(recs.length, direct.sent.length);
    recs.forEach((data, i) => assert.deepEqual(new Uint8Array(data), direct.sent[i]));
    assert.equal(recs[0]!.length, 9014);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
