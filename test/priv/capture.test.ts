/**
 * Live capture (port.capture) on a real veth lab: tshark reads what the
 * writer thread wrote; frames and bytes match what the peer sent and got
 * back; verdicts are in the comments; filter, rotation. A writer that cannot
 * write (a pipe nobody reads) is tested through the daemon: cli-capture.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { open, Verdict, type Packet } from '../../ts/index.js';
import { udpFrame } from '../helpers/frames.js';
import { peer, peerCapture, requirePrivileges, withLab } from '../helpers/priv.js';

/** UDP to port 7 goes back (MACs swapped), anything else is dropped. */
function echo7(p: Packet): number {
  if (p.length >= 42 && p.u16(12) === 0x0800 && p.u8(23) === 17 && p.u16(36) === 7) {
    p.swapMacs();
    return Verdict.Tx;
  }
  return Verdict.Drop;
}

function frames(lab: { dut: { mac: string; ipv4: string }; peer: { mac: string; ipv4: string } }, count: number, dstPort: number, seed = 0): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => udpFrame({
    dstMac: lab.dut.mac, srcMac: lab.peer.mac, srcIp: lab.peer.ipv4, dstIp: lab.dut.ipv4,
    srcPort: 4000, dstPort, length: 60 + ((i * 97 + seed) % 1400), seed: i + seed + 1,
  }));
}

/** tshark's view: one [length, direction flag, comment] per record. */
function tsharkRecords(file: string): Array<{ len: number; comment: string }> {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.len', '-e', 'frame.comment'], { encoding: 'utf8' });
  return out.trim() === '' ? [] : out.trim().split('\n').map((l) => {
    const [len, comment] = l.split('|');
    return { len: Number(len), comment: comment ?? '' };
  });
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

test('capture: tshark reads every frame as received and as sent, with verdicts; counts and bytes match the peer', async (t) => {
  if (!requirePrivileges(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-cap-'));
  try {
    await withLab({}, async (lab) => {
      await using port = await open({ interface: lab.dut.ifname });
      const loop = port.run(echo7);
      const file = join(dir, 'out.pcapng');
      const capture = port.capture({ path: file });
      const toEcho = frames(lab, 50, 7);
      const toDrop = frames(lab, 30, 9, 5);
      const run = peerCapture(lab, { capture: true, expect: toEcho.length, idleMs: 4000 });
      await run.ready;
      await peer(lab, { send: [...toEcho, ...toDrop] });
      const back = (await run.result).captured.filter((f) => f[23] === 17);
      assert.equal(back.length, toEcho.length, `stats ${JSON.stringify(port.stats())} capture ${JSON.stringify(capture.stats())}`);
      await capture.stop();
      const recs = tsharkRecords(file);
      const rx = recs.filter((r) => / rx /.test(r.comment));
      const out = recs.filter((r) => / out /.test(r.comment));
      assert.equal(rx.length, toEcho.length + toDrop.length, 'every received frame');
      assert.equal(sum(rx.map((r) => r.len)), sum([...toEcho, ...toDrop].map((f) => f.length)), 'bytes as the peer sent them');
      assert.equal(out.length, back.length, 'every frame sent');
      assert.equal(sum(out.map((r) => r.len)), sum(back.map((f) => f.length)), 'bytes as the peer received them');
      assert.equal(rx.filter((r) => r.comment.includes('verdict=tx')).length, toEcho.length);
      assert.equal(rx.filter((r) => r.comment.includes('verdict=drop')).length, toDrop.length);
      assert.ok(out.every((r) => r.comment.includes('verdict=tx') && r.comment.includes('queue=0')));
      assert.equal(capture.stats().dropped, 0);
      await port.close();
      await loop;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('capture: a filter in the steering language, and rotation into the files asked for', async (t) => {
  if (!requirePrivileges(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-cap-'));
  try {
    await withLab({}, async (lab) => {
      await using port = await open({ interface: lab.dut.ifname });
      const loop = port.run(echo7);
      const filtered = join(dir, 'f.pcapng');
      const c1 = port.capture({ path: filtered, filter: 'udp dst port 9', snapLength: 64 });
      await peer(lab, { send: [...frames(lab, 20, 7), ...frames(lab, 12, 9)] });
      await new Promise((r) => setTimeout(r, 300));
      await c1.stop();
      const recs = tsharkRecords(filtered);
      assert.equal(recs.length, 12, 'only the frames to port 9, and no output for them (dropped)');
      assert.ok(recs.every((r) => r.comment.includes('verdict=drop')));

      const rotated = join(dir, 'r.pcapng');
      const c2 = port.capture({ path: rotated, rotateBytes: 20_000, rotateFiles: 3 });
      await peer(lab, { send: frames(lab, 60, 7) });
      await new Promise((r) => setTimeout(r, 300));
      const files = await c2.stop();
      assert.deepEqual(files, [rotated, join(dir, 'r-1.pcapng'), join(dir, 'r-2.pcapng')]);
      assert.equal(existsSync(join(dir, 'r-3.pcapng')), false, 'at most 3 files');
      for (const f of files) assert.ok(tsharkRecords(f).length > 0, `${f} readable and not empty`);
      await port.close();
      await loop;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
