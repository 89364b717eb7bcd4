/**
 * The data path end to end: real frames sent from the peer namespace over a
 * real veth pair, through the XDP steering program and an AF_XDP socket, to
 * a TypeScript handler, and back out.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { open, Verdict, type Packet, type Port } from '../../ts/index.js';
import { hex, udpFrame, variedUdpFrames } from '../helpers/frames.js';
import { peer, peerCapture, requirePrivileges, until, withLab } from '../helpers/priv.js';

/** The accounting invariant: every frame in exactly one state, adding up. */
export function assertAccounting(port: Port): void {
  const a = port.frameAccounting();
  assert.equal(a.consistent, true, `frame accounting inconsistent: ${JSON.stringify(a)}`);
  assert.equal(a.free + a.fill + a.handler + a.tx + a.retired, a.total);
}

function swapped(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame);
  out.set(frame.subarray(6, 12), 0);
  out.set(frame.subarray(0, 6), 6);
  return out;
}

test('echo: 10,000 frames of 60..1514 bytes come back with MACs swapped, none lost', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    await using port = await open({ interface: lab.dut.ifname });
    const loop = port.run((p) => {
      p.swapMacs();
      return Verdict.Tx;
    });
    const frames = variedUdpFrames(10_000, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, expect: frames.length });
    assert.equal(result.sent, frames.length);
    assert.equal(result.captured.length, frames.length,
      `lost ${frames.length - result.captured.length} frames; stats ${JSON.stringify(port.stats())}`);
    // Frames come back in order on one queue; compare each byte for byte.
    for (let i = 0; i < frames.length; i++) {
      assert.equal(hex(result.captured[i]!), hex(swapped(frames[i]!)), `frame ${i} differs`);
    }
    const s = port.stats();
    assert.equal(s.rx, frames.length);
    assert.equal(s.tx, frames.length);
    assert.equal(s.dropped, 0);
    assert.equal(s.xdp.rxDropped, 0);
    assertAccounting(port);
    await port.close();
    await loop;
  });
});

test('drop: every frame dropped, rx counts them all, nothing comes back', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname, frameSize: 2048, frames: 1024 });
    let seen = 0;
    const ac = new AbortController();
    const loop = port.run(() => {
      seen++;
      return Verdict.Drop;
    }, { signal: ac.signal });
    const frames = variedUdpFrames(3000, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, idleMs: 300 });
    assert.ok(await until(() => port.stats().rx === frames.length));
    assert.equal(result.captured.length, 0);
    const s = port.stats();
    assert.equal(s.rx, frames.length);
    assert.equal(s.dropped, frames.length);
    assert.equal(seen, frames.length);
    assert.equal(s.tx, 0);
    ac.abort();
    await loop;
    assertAccounting(port);
    const a = port.frameAccounting();
    assert.equal(a.handler + a.tx, 0, 'no frame stuck in the handler or TX after the loop stopped');
    await port.close();
  });
});

test('forward: frames entering port A leave port B unchanged (shared UMEM)', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({ pairs: 2 }, async (lab) => {
    const [a, b] = lab.pairs as [typeof lab.pairs[0], typeof lab.pairs[0]];
    const portA = await open({ interface: a.dut.ifname });
    const portB = await open({ interface: b.dut.ifname, shareUmemWith: portA });
    // The second port gets its share of the 4096 default frames although the
    // first one filled its ring before B existed: each fill ring holds at
    // most its RX ring's size (2048), and B gets the rest but the send reserve.
    const fillA = portA.stats().frames.fillRing;
    const fillB = portB.stats().frames.fillRing;
    assert.ok(fillA <= 2048, `port A fill ring ${fillA}`);
    assert.ok(fillB >= 1024, `port B fill ring ${fillB}: starved by port A`);
    assert.ok(portA.frameAccounting().free >= 512, 'the send reserve is left free');
    const loop = portA.run((p) => p.forward(portB));
    const frames = variedUdpFrames(2000, { dutMac: a.dut.mac, peerMac: a.peer.mac });
    // Capture at B's peer while A's peer sends.
    const capture = peerCapture({ ...lab, peer: b.peer } as typeof lab, { capture: true, expect: frames.length, idleMs: 1500 });
    await capture.ready;
    await peer(lab, { send: frames });
    const result = await capture.result;
    assert.equal(result.captured.length, frames.length);
    for (let i = 0; i < frames.length; i++) assert.equal(hex(result.captured[i]!), hex(frames[i]!));
    assert.equal(portA.stats().forwarded, frames.length);
    assertAccounting(portA);
    await portB.close();
    await portA.close();
    await loop;
    assert.equal(lab.xdpProgramId(a.dut), null);
    assert.equal(lab.xdpProgramId(b.dut), null);
  });
});

test('send: frames injected with port.send arrive at the peer intact', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname });
    const frames = Array.from({ length: 500 }, (_, i) => udpFrame({
      dstMac: lab.peer.mac, srcMac: lab.dut.mac, srcIp: '192.0.2.1', dstIp: '192.0.2.2',
      srcPort: 9, dstPort: 30000 + i, length: 60 + i * 2, seed: i,
    }));
    const capture = peerCapture(lab, { capture: true, expect: frames.length, idleMs: 1500 });
    await capture.ready;
    for (const f of frames) {
      while (!port.send(f)) {
        port.flush();
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    assert.ok(await until(() => {
      port.flush();
      return port.stats().frames.txRing + port.stats().frames.completionRing === 0;
    }));
    const result = await capture.result;
    assert.equal(result.captured.length, frames.length);
    for (let i = 0; i < frames.length; i++) assert.equal(hex(result.captured[i]!), hex(frames[i]!));
    assert.equal(port.stats().sent, frames.length);
    assertAccounting(port);
    await port.close();
  });
});

test('edit and length: rewritten and truncated frames reach the peer exactly as edited', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname });
    const loop = port.run((p) => {
      p.swapMacs();
      p.setU32(42, 0xdeadbeef); // first payload bytes
      p.setU8(22, p.u8(22) - 1); // TTL (checksum left stale on purpose: raw bytes)
      p.setLength(Math.min(p.length, 100));
      return Verdict.Tx;
    });
    const frames = variedUdpFrames(1000, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, expect: frames.length });
    assert.equal(result.captured.length, frames.length);
    for (let i = 0; i < frames.length; i++) {
      const want = swapped(frames[i]!).slice(0, Math.min(frames[i]!.length, 100));
      new DataView(want.buffer).setUint32(42, 0xdeadbeef);
      want[22] = want[22]! - 1;
      assert.equal(hex(result.captured[i]!), hex(want), `frame ${i}`);
    }
    assertAccounting(port);
    await port.close();
    await loop;
  });
});

test('a handler that throws on every other packet: the others are handled, errors counted', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname });
    let n = 0;
    const reported: unknown[] = [];
    const loop = port.run(
      (p) => {
        if (n++ % 2 === 1) throw new Error('boom');
        p.swapMacs();
        return Verdict.Tx;
      },
      { onHandlerError: (err) => reported.push(err) },
    );
    const frames = variedUdpFrames(2000, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, expect: 1000 });
    assert.equal(result.captured.length, 1000);
    for (let i = 0; i < 1000; i++) assert.equal(hex(result.captured[i]!), hex(swapped(frames[2 * i]!)));
    const s = port.stats();
    assert.equal(s.handlerErrors, 1000);
    assert.equal(reported.length, 1000, 'each failure reported once, through onHandlerError');
    assert.ok(reported.every((e) => (e as Error).message === 'boom'));
    assert.equal(s.rx, 2000);
    assert.equal(s.tx, 1000);
    assert.equal(s.dropped, 1000);
    assertAccounting(port);
    await port.close();
    await loop;
  });
});

test('the loop leaves the event loop free: timers fire while traffic flows and while idle', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname });
    const loop = port.run(() => Verdict.Drop);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const frames = variedUdpFrames(5000, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    await peer(lab, { send: frames });
    await new Promise((r) => setTimeout(r, 300));
    clearInterval(timer);
    assert.ok(ticks >= 5, `timer fired only ${ticks} times`);
    // Idle: CPU time of this process over 500 ms stays far below one core.
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 500));
    const used = process.cpuUsage(before);
    assert.ok(used.user + used.system < 250_000, `idle loop used ${(used.user + used.system) / 1000} ms CPU in 500 ms`);
    await port.close();
    await loop;
  });
});

test('verdicts naming no port are dropped and counted; accounting holds', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname });
    let n = 0;
    // 2 + 40 would forward to port 40 of this UMEM, which does not exist.
    const loop = port.run(() => (n++ % 2 ? 42 : Verdict.Drop));
    const frames = variedUdpFrames(500, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, idleMs: 300 });
    assert.ok(await until(() => port.stats().rx === frames.length));
    assert.equal(result.captured.length, 0);
    const s = port.stats();
    assert.equal(s.invalidVerdicts, 250);
    assert.equal(s.dropped, 500);
    assertAccounting(port);
    await port.close();
    await loop;
  });
});

test('mode: forcing skb (generic) XDP works end to end and is reported', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname, mode: 'skb', zeroCopy: false });
    assert.equal(port.stats().attachMode, 'skb');
    assert.match(lab.exec(lab.dut, 'ip', ['link', 'show', 'dev', lab.dut.ifname]), /xdpgeneric/);
    const loop = port.run((p) => {
      p.swapMacs();
      return Verdict.Tx;
    });
    const frames = variedUdpFrames(500, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, expect: frames.length });
    assert.equal(result.captured.length, frames.length);
    for (let i = 0; i < frames.length; i++) assert.equal(hex(result.captured[i]!), hex(swapped(frames[i]!)));
    assertAccounting(port);
    await port.close();
    await loop;
  });
});

test('verdicts that are not integers 0..255 count as handler errors, never wrap', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname });
    const bad = [256, 257, NaN, 1.5, -1, undefined, 'tx'];
    let n = 0;
    const reported: Array<{ code?: string }> = [];
    let kept: Packet | undefined;
    const loop = port.run(
      (p) => {
        kept = p;
        return bad[n++ % bad.length] as number;
      },
      { onHandlerError: (err) => reported.push(err as { code?: string }), debug: true },
    );
    const frames = variedUdpFrames(70, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, idleMs: 300 });
    assert.ok(await until(() => port.stats().rx === frames.length));
    assert.equal(result.captured.length, 0, '257 must not become Tx');
    assert.equal(port.stats().handlerErrors, 70);
    assert.equal(reported.length, 70);
    assert.ok(reported.every((e) => e.code === 'ERR_INVALID_VERDICT'));
    // Debug mode: the packet the handler kept is dead after its call.
    assert.throws(() => kept!.u8(0), (e: { code?: string }) => e.code === 'ERR_PACKET_RELEASED');
    assert.equal(port.stats().forwarded, 0);
    assertAccounting(port);
    await port.close();
    await loop;
  });
});

test('concurrent close() calls close once; a shared UMEM stays up for its other port', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({ pairs: 2 }, async (lab) => {
    const [a, b] = lab.pairs as [typeof lab.pairs[0], typeof lab.pairs[0]];
    const portA = await open({ interface: a.dut.ifname });
    const portB = await open({ interface: b.dut.ifname, shareUmemWith: portA });
    const loopA = portA.run(() => Verdict.Drop);
    await Promise.all([portA.close(), portA.close(), portA.close()]);
    await loopA;
    await assert.rejects(portA.run(() => Verdict.Drop), { code: 'ERR_CLOSED' });
    // B still works on the shared UMEM.
    let seen = 0;
    const loopB = portB.run(() => {
      seen++;
      return Verdict.Drop;
    });
    await peer({ ...lab, peer: b.peer } as typeof lab, { send: variedUdpFrames(50, { dutMac: b.dut.mac, peerMac: b.peer.mac }) });
    assert.ok(await until(() => seen === 50), `B saw ${seen}`);
    assertAccounting(portB);
    await portB.close();
    await loopB;
    assert.equal(lab.xdpProgramId(a.dut), null);
    assert.equal(lab.xdpProgramId(b.dut), null);
  });
});

// The loop commits a batch in the same native call that receives the next
// one, so a handled batch is briefly uncommitted: whatever ends the loop
// then, its frames must still go out and none may stay in the handler.
test('a stop from inside the handler sends the batch it ends; nothing stays in the handler', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    await using port = await open({ interface: lab.dut.ifname });
    const ac = new AbortController();
    let seen = 0;
    const loop = port.run((p) => {
      p.swapMacs();
      if (++seen === 700) ac.abort(); // mid-batch: the rest of the batch is still handled
      return Verdict.Tx;
    }, { signal: ac.signal });
    const frames = variedUdpFrames(3000, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, idleMs: 400 });
    await loop;
    assert.ok(seen >= 700, `only ${seen} frames handled`);
    const s = port.stats();
    assert.equal(s.rx, seen);
    assert.equal(s.tx, seen, `${seen} frames handled with Verdict.Tx but ${s.tx} sent`);
    assert.equal(result.captured.length, seen, 'every frame handled before the stop came back');
    assertAccounting(port);
    assert.equal(port.frameAccounting().handler, 0, 'no frame left in the handler');
  });
});

test('an onBatch callback that throws ends the run with its error and the batch still goes out', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    await using port = await open({ interface: lab.dut.ifname });
    let seen = 0;
    const loop = port.run((p) => {
      p.swapMacs();
      seen++;
      return Verdict.Tx;
    }, {
      onBatch: () => {
        throw new Error('reporter broke');
      },
    });
    const ended = loop.then(() => null, (err: unknown) => err); // it fails at the first batch
    const frames = variedUdpFrames(200, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, idleMs: 400 });
    assert.match(String(await ended), /reporter broke/);
    assert.ok(seen > 0);
    assert.equal(port.stats().tx, seen, 'the batch whose onBatch threw was sent');
    assert.equal(result.captured.length, seen);
    assert.equal(port.frameAccounting().handler, 0, 'no frame left in the handler');
    assertAccounting(port);
  });
});

// The loop's first batches run synchronously inside run(): a run() (or a
// close()) from the handler then must already find the loop registered.
test('run() from inside the handler is refused with ERR_ALREADY_RUNNING, from the very first batch', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    await using port = await open({ interface: lab.dut.ifname });
    // Frames wait in the RX ring before run(): its first batch is handled
    // at once, before run() has returned.
    const frames = variedUdpFrames(50, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const { result } = peerCapture(lab, { send: frames, capture: true, expect: frames.length, idleMs: 3000 });
    assert.ok(await until(() => port.stats().steering.steeredPackets >= frames.length), 'the frames reached the socket');
    let nested: Promise<string> | null = null;
    const loop = port.run((p) => {
      nested ??= port.run(() => Verdict.Drop).then(
        () => 'resolved',
        (err: { code?: string }) => String(err.code),
      );
      p.swapMacs();
      return Verdict.Tx;
    });
    const { captured } = await result;
    assert.ok(nested, 'the handler ran');
    assert.equal(await nested, 'ERR_ALREADY_RUNNING');
    assert.equal(captured.length, frames.length, 'the running loop went on undisturbed');
    await port.close();
    await loop;
  });
});
