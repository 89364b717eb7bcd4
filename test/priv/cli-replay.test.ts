/**
 * The same frames, live and replayed: tshark captures what the peer sends
 * to a daemon running examples/firewall.ts; `afxdp replay` of that pcapng
 * must give the verdicts the live run gave (tx = the frame came back).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { peer, requirePrivileges } from '../helpers/priv.js';
import { udpFrame } from '../helpers/frames.js';
import { readCapture } from '../../ts/packet/capture.js';
import { Daemon, runCli, withLabAndDir } from '../helpers/cli.js';

/** IPv4 identification: the frame's serial number in this test. */
function serial(f: Uint8Array): number {
  return (f[18]! << 8) | f[19]!;
}

test('replay of a tshark capture gives the verdicts of the live run', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const frames: Uint8Array[] = [];
    const dstPorts = [53, 9, 2000, 80, 443, 65000, 1023, 1024];
    for (let i = 0; i < 80; i++) {
      frames.push(udpFrame({
        dstMac: lab.dut.mac, srcMac: lab.peer.mac,
        srcIp: i % 10 === 3 ? '198.51.100.9' : lab.peer.ipv4, dstIp: lab.dut.ipv4,
        srcPort: 40000 + i, dstPort: dstPorts[i % dstPorts.length]!, length: 60 + ((i * 37) % 400), seed: i + 1,
      }));
    }

    // tshark captures what the peer sends (its own frames only).
    const capture = join(dir, 'live.pcapng');
    const tshark = spawn('ip', ['netns', 'exec', lab.peer.ns, 'tshark', '-i', lab.peer.ifname, '-f', `ether src ${lab.peer.mac}`, '-w', capture, '-q'],
      { stdio: ['ignore', 'ignore', 'pipe'] });
    let tsharkErr = '';
    const tsharkDone = new Promise<number | null>((r) => tshark.on('close', r));
    await new Promise<void>((resolve, reject) => {
      tshark.stderr!.on('data', (d) => {
        tsharkErr += d;
        if (tsharkErr.includes('Capturing on')) resolve();
      });
      void tsharkDone.then(() => reject(new Error(`tshark exited: ${tsharkErr}`)));
    });

    const d = new Daemon(['run', 'examples/firewall.ts', '-i', lab.dut.ifname, '--quiet'], lab.dut.ns);
    let back: Uint8Array[];
    try {
      await d.ready();
      const res = await peer(lab, { send: frames, capture: true, idleMs: 700 });
      back = res.captured.filter((f) => f.length >= 20 && f[0] === 0x02 && f[5] === 0x02 && f[11] === 0x01);
      assert.equal((await d.stop()).code, 0);
    } finally {
      await d.kill();
      tshark.kill('SIGINT');
      await tsharkDone;
    }
    const liveTx = new Set(back.map(serial));
    assert.ok(liveTx.size > 0 && liveTx.size < frames.length, 'the firewall allowed some frames and dropped others');

    const captured: Uint8Array[] = [];
    for await (const rec of readCapture(capture)) captured.push(rec.data);
    assert.equal(captured.length, frames.length, 'tshark saw every frame sent');

    const out = join(dir, 'replayed.pcapng');
    const r = await runCli(['replay', 'examples/firewall.ts', '--in', capture, '--out', out, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const { verdicts, counts } = JSON.parse(r.stdout) as { verdicts: Array<{ verdict: string }>; counts: { tx: number; drop: number } };
    assert.equal(verdicts.length, captured.length);
    const replayTx = new Set(captured.filter((_, i) => verdicts[i]!.verdict === 'tx').map(serial));
    assert.deepEqual([...replayTx].sort((a, b) => a - b), [...liveTx].sort((a, b) => a - b), 'same frames sent live and in replay');
    assert.equal(counts.tx, liveTx.size);

    // The frames replay sent are byte for byte the frames that came back live.
    const liveBySerial = new Map(back.map((f) => [serial(f), f]));
    for await (const rec of readCapture(out)) {
      if (!rec.comments[0]?.includes('verdict=tx')) continue;
      assert.deepEqual(rec.data, liveBySerial.get(serial(rec.data)));
    }
  });
});
