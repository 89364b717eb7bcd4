/**
 * `afxdp run --capture` live on a veth lab: the daemon's workers copy what
 * the handler saw and did into rings that one writer thread turns into
 * pcapng; tshark reads the result. To a file (with filter, metrics and
 * rotation), to stdout for a reader, and to a pipe nobody reads, where
 * capture drops and echo traffic does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildIcmpEcho, buildUdp } from '../../ts/packet/index.js';
import type { Lab } from '../../ts/index.js';
import { peerCapture, requirePrivileges } from '../helpers/priv.js';
import { Daemon, finalTotals, sum, withLabAndDir } from '../helpers/cli.js';

/** tshark's view of a pcapng file: one { len, comment, icmpType } per record. */
function tsharkRecords(file: string): Array<{ len: number; comment: string; icmpType: string }> {
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=|', '-e', 'frame.len', '-e', 'frame.comment', '-e', 'icmp.type'], { encoding: 'utf8' });
  return out.trim() === '' ? [] : out.trim().split('\n').map((l) => {
    const [len, comment, icmpType] = l.split('|');
    return { len: Number(len), comment: comment ?? '', icmpType: icmpType ?? '' };
  });
}

function udpTo(lab: Lab, count: number, dstPort: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => buildUdp({
    srcMac: lab.peer.mac, dstMac: lab.dut.mac, src: lab.peer.ipv4, dst: lab.dut.ipv4,
    srcPort: 20000 + i, dstPort, payload: 'x'.repeat(18 + ((i * 37) % 300)),
  }));
}

function icmpTo(lab: Lab, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => buildIcmpEcho({ srcMac: lab.peer.mac, dstMac: lab.dut.mac, src: lab.peer.ipv4, dst: lab.dut.ipv4, seq: i }));
}

/** Send `frames` from the peer; resolves with the UDP frames that came back. */
async function exchange(lab: Lab, frames: Uint8Array[], expect: number): Promise<Uint8Array[]> {
  const run = peerCapture(lab, { send: frames, capture: true, expect, idleMs: 4000 });
  const r = await run.result;
  return r.captured.filter((f) => f.length >= 42 && f[12] === 8 && f[13] === 0 && f[23] === 17);
}

const total = (xs: Uint8Array[]) => xs.reduce((n, f) => n + f.length, 0);

/** The metrics text, fetched from inside the lab's namespace (where the daemon listens). */
function scrape(lab: Lab, url: string): string {
  const js = `fetch(${JSON.stringify(url)}).then((r) => r.text()).then((t) => process.stdout.write(t))`;
  return execFileSync('ip', ['netns', 'exec', lab.dut.ns, process.execPath, '-e', js], { encoding: 'utf8' });
}

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

test('run --capture <file>: every frame as received and as sent, verdicts in comments, a filter, metrics; tshark reads it', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const file = join(dir, 'out.pcapng');
    const d = new Daemon(['run', 'examples/reflector.ts', '-i', lab.dut.ifname, '--capture', file, '--capture-filter', 'udp or icmp',
      '--metrics', '0', '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      await d.waitFor(/capturing to /);
      const [, url] = await d.waitFor(/metrics at (http:\/\/\S+)/);
      const udp = udpTo(lab, 40, 9);
      const icmp = icmpTo(lab, 10);
      const back = await exchange(lab, [...udp, ...icmp], udp.length);
      assert.equal(back.length, udp.length, 'every UDP frame reflected');
      // The writer drains the rings every few ms.
      let text = '';
      for (let i = 0; i < 50; i++) {
        text = scrape(lab, url!);
        if (metric(text, 'afxdp_capture_written_total') >= udp.length * 2 + icmp.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(metric(text, 'afxdp_capture_dropped_total'), 0);
      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      const totals = finalTotals(r.stdout);
      const received = sum(totals, 'rx');
      assert.match(r.stderr, new RegExp(`capture: \\d+ frames \\(\\d+ bytes\\) written to ${file.replace(/[.]/g, '\\.')}; (\\d+) filtered out, 0 dropped`));

      const recs = tsharkRecords(file);
      const rx = recs.filter((x) => / rx /.test(x.comment));
      const out = recs.filter((x) => / out /.test(x.comment));
      const filtered = Number(/(\d+) filtered out/.exec(r.stderr)![1]);
      // Frames the filter left out are the lab's own chatter (IPv6 ND, say): none of ours.
      assert.equal(rx.length + filtered, received, 'every received frame is written or filtered out');
      // Ours: the UDP (reflected) and the echo requests (dropped); the peer's
      // kernel also answers some reflected frames with port unreachable.
      const ours = rx.filter((x) => x.comment.includes('verdict=tx') || (x.comment.includes('verdict=drop') && x.icmpType === '8'));
      assert.equal(rx.filter((x) => x.comment.includes('verdict=tx')).length, udp.length, 'the reflected frames, as received');
      assert.equal(rx.filter((x) => x.comment.includes('verdict=drop') && x.icmpType === '8').length, icmp.length, 'the dropped echo requests, as received');
      assert.equal(sum2(ours.map((x) => x.len)), total([...udp, ...icmp]), 'bytes as the peer sent them');
      assert.equal(out.length, back.length, 'every frame sent');
      assert.equal(sum2(out.map((x) => x.len)), total(back), 'bytes as the peer got them');
      assert.ok(out.every((x) => x.comment.includes('verdict=tx') && x.comment.includes('queue=0')));
    } finally {
      await d.kill();
    }
  });
});

const sum2 = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** A reflector that also prints (console.log in a worker: its stdout must not reach a capture on stdout). */
const CHATTY_REFLECTOR = `import { Verdict } from 'afxdp';
let n = 0;
export default function (p) {
  if (n++ < 5) console.log('handler saw ' + p.length + ' bytes');
  p.swapMacs();
  return Verdict.Tx;
}
`;

test('run --capture - | reader: pcapng on stdout, status and the handler\'s console.log on stderr; rotation into the files asked for', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'chatty.mjs');
    writeFileSync(handler, CHATTY_REFLECTOR);
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--capture', '-', '--capture-filter', 'udp', '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      const udp = udpTo(lab, 25, 9);
      const back = await exchange(lab, udp, udp.length);
      assert.equal(back.length, udp.length);
      await new Promise((r) => setTimeout(r, 300));
      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.ok(finalTotals(r.stderr).size > 0, `the final status lines went to stderr: ${r.stderr}`);
      assert.match(r.stderr, /handler saw \d+ bytes/, 'the handler\'s console.log went to stderr');
      const file = join(dir, 'stdout.pcapng');
      writeFileSync(file, Buffer.concat(d.stdoutChunks));
      const recs = tsharkRecords(file);
      assert.equal(recs.filter((x) => / rx .*verdict=tx/.test(x.comment)).length, udp.length, 'stdout holds only pcapng: tshark reads every record');
      assert.equal(recs.filter((x) => / out /.test(x.comment)).length, back.length);
    } finally {
      await d.kill();
    }

    const rotated = join(dir, 'r.pcapng');
    const d2 = new Daemon(['run', 'examples/reflector.ts', '-i', lab.dut.ifname, '--capture', rotated, '--capture-filter', 'udp',
      '--capture-rotate-bytes', '20000', '--capture-rotate-files', '3', '--status-interval', '0'], lab.dut.ns);
    try {
      await d2.ready();
      await exchange(lab, udpTo(lab, 80, 9), 80);
      await new Promise((r) => setTimeout(r, 300));
      const r = await d2.stop();
      assert.equal(r.code, 0, r.stderr);
      const files = readdirSync(dir).filter((f) => f.startsWith('r')).sort();
      assert.deepEqual(files, ['r-1.pcapng', 'r-2.pcapng', 'r.pcapng'], 'three files, the oldest names reused');
      assert.equal(existsSync(join(dir, 'r-3.pcapng')), false);
      for (const f of files) assert.ok(tsharkRecords(join(dir, f)).length > 0, `${f} readable and not empty`);
    } finally {
      await d2.kill();
    }
  });
});

test('run --capture - into a pipe nobody reads: capture drops (counted), echo traffic goes on, SIGTERM still stops it', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab) => {
    // A small ring, so it fills after a few hundred frames once the pipe is full.
    const d = new Daemon(['run', 'examples/reflector.ts', '-i', lab.dut.ifname, '--capture', '-', '--capture-buffer', '65536', '--status-interval', '0'], lab.dut.ns);
    // Stop reading stdout: the pipe (64 KiB) fills, the writer waits for it forever.
    d.child.stdout!.removeAllListeners('data');
    d.child.stdout!.pause();
    try {
      await d.ready();
      for (let round = 0; round < 4; round++) {
        const udp = udpTo(lab, 400, 9);
        const back = await exchange(lab, udp, udp.length);
        assert.equal(back.length, udp.length, `round ${round}: every frame echoed while the capture cannot write`);
      }
      const started = Date.now();
      const r = await d.stop();
      assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
      assert.equal(r.code, 0, r.stderr);
      const dropped = Number(/capture: .* (\d+) dropped/.exec(r.stderr)?.[1]);
      assert.ok(dropped > 0, `capture records dropped and counted: ${r.stderr}`);
      assert.equal(sum(finalTotals(r.stderr), 'tx'), 1600, 'the data path lost nothing');
    } finally {
      await d.kill();
    }
  });
});

test('run --capture <file> whose start fails (zero-copy on a veth): exit 7 and no capture file left behind', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const file = join(dir, 'never.pcapng');
    const d = new Daemon(['run', 'examples/reflector.ts', '-i', lab.dut.ifname, '--zero-copy', 'on', '--capture', file], lab.dut.ns);
    try {
      const r = await d.done;
      assert.equal(r.code, 7, r.stderr);
      assert.equal(existsSync(file), false, 'no empty capture file from a start that failed');
    } finally {
      await d.kill();
    }
  });
});
