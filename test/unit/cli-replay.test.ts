/** runHandler and `afxdp replay`, offline: no root, no NIC. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHandler, HandlerHarness } from '../../ts/replay.js';
import { Verdict } from '../../ts/verdict.js';
import type { Packet } from '../../ts/packet-view.js';
import { PcapWriter } from '../../ts/packet/pcap.js';
import { readCapture } from '../../ts/packet/capture.js';
import { udpFrame } from '../helpers/frames.js';
import reflectorModule from '../../examples/reflector.js';
import type { Handler } from '../../ts/port.js';

// The example imports 'afxdp' (the built package types); at run time it is this tree.
const reflect = reflectorModule as unknown as Handler;

const bin = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'afxdp.js');

function frame(dstPort: number, seed = dstPort, srcIp = '192.0.2.2'): Uint8Array {
  return udpFrame({ dstMac: '02:00:00:00:00:01', srcMac: '02:00:00:00:00:02', srcIp, dstIp: '192.0.2.1', srcPort: 40000, dstPort, length: 100, seed });
}

test('runHandler reports verdicts and the frames sent, as edited', () => {
  const f = frame(7);
  const r = runHandler(reflect, [f, new Uint8Array(60)]);
  assert.deepEqual(r.verdicts, ['tx', 'drop']);
  assert.deepEqual(r.counts, { frames: 2, tx: 1, forward: 0, drop: 1, pass: 0, handlerErrors: 0 });
  const out = r.sent[0]!;
  assert.deepEqual(out.subarray(0, 6), f.subarray(6, 12), 'MACs swapped');
  assert.deepEqual(out.subarray(26, 30), f.subarray(30, 34), 'IPs swapped');
  assert.equal((out[34]! << 8) | out[35]!, 7, 'ports swapped');
  assert.equal(r.outcomes[0]!.out, 'eth0');
  assert.notEqual(out, f, 'the input is not modified in place');
  assert.equal(f[0], 0x02);
});

test('runHandler reports Verdict.Pass: the frame as edited, to the kernel (not sent out)', () => {
  const f = frame(22);
  const r = runHandler((p: Packet) => {
    p.setU8(22, p.u8(22) - 1); // TTL
    return Verdict.Pass;
  }, [f]);
  assert.deepEqual(r.verdicts, ['pass']);
  assert.deepEqual(r.counts, { frames: 1, tx: 0, forward: 0, drop: 0, pass: 1, handlerErrors: 0 });
  assert.equal(r.outcomes[0]!.out, null);
  assert.equal(r.outcomes[0]!.frame![22], 63, 'as edited');
  assert.equal(r.sent.length, 0, 'passed frames are not sent out of a port');
});

test('runHandler: a throwing or non-verdict handler drops the frame and says why', () => {
  let n = 0;
  const r = runHandler(() => {
    if (n++ === 0) throw new Error('bad frame');
    return 'tx' as unknown as number;
  }, [frame(1), frame(2)]);
  assert.deepEqual(r.verdicts, ['drop', 'drop']);
  assert.equal(r.counts.handlerErrors, 2);
  assert.match(r.outcomes[0]!.error!, /handler threw: bad frame/);
  assert.match(r.outcomes[1]!.error!, /not a verdict/);
});

test('runHandler: a packet kept past its handler call fails loudly (ERR_PACKET_RELEASED)', () => {
  let kept: Packet | undefined;
  const r = runHandler((p) => {
    kept = p;
    return Verdict.Drop;
  }, [frame(1)]);
  assert.deepEqual(r.verdicts, ['drop']);
  for (const use of [() => kept!.u8(0), () => kept!.u16(12), () => kept!.length, () => kept!.bytes, () => kept!.setU8(0, 1), () => kept!.setLength(60)]) {
    assert.throws(use, (e: { code?: string; message: string }) => e.code === 'ERR_PACKET_RELEASED' && /after its handler call/.test(e.message));
  }
});

test('runHandler: forward between named ports, setLength within the frame room', () => {
  const h = new HandlerHarness({ interfaces: ['a', 'b'] });
  const fwd = (p: Packet) => {
    p.setLength(p.length + 10);
    return p.forward(p.port.interface === 'a' ? h.ports.b! : h.ports.a!);
  };
  const o = h.run(fwd, frame(1));
  assert.equal(o.verdict, 'forward');
  assert.equal(o.out, 'b');
  assert.equal(o.frame!.length, 110);
  assert.equal(h.run(fwd, frame(2), 'b').out, 'a');
  assert.equal(h.room, 4096 - 256);
  assert.throws(() => h.run(fwd, frame(3), 'c'), /no port named 'c'/);
});

test('afxdp replay: verdicts as pcapng comments, dropped frames on their own interface, counts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-replay-'));
  try {
    const input = join(dir, 'in.pcap');
    const w = new PcapWriter(input);
    const frames = [frame(53), frame(9), frame(2000), frame(53, 1, '198.51.100.7')];
    for (const f of frames) await w.write(f);
    await w.close();
    const out = join(dir, 'out.pcapng');
    const r = spawnSync(process.execPath, [bin, 'replay', 'examples/firewall.ts', '--in', input, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /frames 4: tx 2, forward 0, pass 0, drop 2 \(handler errors 0\)/);
    const recs = [];
    for await (const rec of readCapture(out)) recs.push(rec);
    assert.deepEqual(recs.map((x) => x.comments), [
      ['afxdp: #0 verdict=tx'], ['afxdp: #1 verdict=drop'], ['afxdp: #2 verdict=tx'], ['afxdp: #3 verdict=drop'],
    ]);
    assert.deepEqual(recs.map((x) => x.interfaceId), [0, 1, 0, 1]);
    assert.deepEqual(recs[1]!.data, frames[1], 'dropped frames are written as they arrived');
    assert.deepEqual(recs[0]!.data.subarray(0, 6), frames[0]!.subarray(6, 12), 'sent frames as edited');

    const json = spawnSync(process.execPath, [bin, 'replay', 'examples/firewall.ts', '--in', input, '--out', out, '--sent-only', '--json'], { encoding: 'utf8' });
    assert.equal(json.status, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).verdicts.map((v: { verdict: string }) => v.verdict), ['tx', 'drop', 'tx', 'drop']);
    const sent = [];
    for await (const rec of readCapture(out)) sent.push(rec);
    assert.equal(sent.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('afxdp replay errors: missing capture is a usage error, a broken handler exit 3', () => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-replay-'));
  try {
    const r = spawnSync(process.execPath, [bin, 'replay', 'examples/firewall.ts', '--in', join(dir, 'none.pcap')], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /no such file/);
    const bad = join(dir, 'bad.mts');
    writeFileSync(bad, 'export const nothing = 1;\n');
    const r2 = spawnSync(process.execPath, [bin, 'replay', bad, '--in', join(dir, 'none.pcap')], { encoding: 'utf8' });
    assert.equal(r2.status, 3);
    assert.match(r2.stderr, /no default export/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Verdict values are what runHandler maps', () => {
  assert.equal(runHandler(() => Verdict.Tx, [frame(1)]).verdicts[0], 'tx');
  assert.equal(runHandler(() => Verdict.Drop, [frame(1)]).verdicts[0], 'drop');
  assert.equal(runHandler(() => 7, [frame(1)]).outcomes[0]!.error, 'forward verdict 7 names no port');
});
