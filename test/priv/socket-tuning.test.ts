/**
 * Socket tuning options: the TX budget per kick (XDP_MAX_TX_SKB_BUDGET),
 * busy polling, and the receive loop's low-latency spin. Each is checked for
 * what it does to real frames and for what the port reports, on whatever
 * kernel runs the test (a kernel without an option must fall back, not fail).
 * Speed is the benchmarks' business (BENCHMARKS.md), not the tests'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { release } from 'node:os';
import { AfxdpError, open, Verdict } from '../../ts/index.js';
import { variedUdpFrames } from '../helpers/frames.js';
import { peer, requirePrivileges, withLab } from '../helpers/priv.js';

function kernelAtLeast(major: number, minor: number): boolean {
  const [a, b] = release().split('.').map((x) => parseInt(x, 10));
  return a! > major || (a === major && b! >= minor);
}

/** Echo `count` frames through a port opened with `options`; all must come back. */
async function echo(options: Record<string, unknown>, count: number, runOptions: Record<string, unknown> = {}) {
  let stats!: ReturnType<Awaited<ReturnType<typeof open>>['stats']>;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname, ...options });
    const ac = new AbortController();
    const loop = port.run((p) => {
      p.swapMacs();
      return Verdict.Tx;
    }, { signal: ac.signal, ...runOptions });
    const frames = variedUdpFrames(count, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
    const result = await peer(lab, { send: frames, capture: true, expect: frames.length });
    assert.equal(result.captured.length, frames.length, `lost ${frames.length - result.captured.length}; stats ${JSON.stringify(port.stats())}`);
    stats = port.stats();
    assert.equal(stats.tx, frames.length);
    assert.equal(port.frameAccounting().consistent, true);
    ac.abort();
    await loop;
    await port.close();
  });
  return stats;
}

test('TX budget: the ring size where the kernel has XDP_MAX_TX_SKB_BUDGET (6.17+), else 32; frames go out either way', async (t) => {
  if (!requirePrivileges(t)) return;
  const s = await echo({ ringSize: 512, batchSize: 256 }, 3000);
  assert.equal(s.txBudget, kernelAtLeast(6, 17) ? 512 : 32);
});

test('TX budget 0 keeps the kernel default of 32 descriptors per kick, and batches of 256 still all go out', async (t) => {
  if (!requirePrivileges(t)) return;
  const s = await echo({ txBudget: 0, batchSize: 256 }, 3000);
  assert.equal(s.txBudget, 32);
});

test('TX budget above the ring is capped at the ring size', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    await using port = await open({ interface: lab.dut.ifname, ringSize: 256, txBudget: 100_000 });
    assert.equal(port.stats().txBudget, kernelAtLeast(6, 17) ? 256 : 32);
  });
});

test('busy polling: frames are received and sent back; the port says it is on (kernel 5.11+)', async (t) => {
  if (!requirePrivileges(t)) return;
  const s = await echo({ busyPoll: true }, 2000);
  assert.equal(s.busyPoll, kernelAtLeast(5, 11));
  const off = await echo({}, 10);
  assert.equal(off.busyPoll, false);
});

test('low-latency spin: frames are handled, and an abort ends the loop while it spins on an empty ring', async (t) => {
  if (!requirePrivileges(t)) return;
  await echo({}, 2000, { spinMicros: 50_000 });
});

test('bad busyPoll, txBudget and spinMicros values are refused with ERR_INVALID_OPTION', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    await assert.rejects(open({ interface: lab.dut.ifname, busyPoll: 'yes' as unknown as boolean }), (e: AfxdpError) => e.code === 'ERR_INVALID_OPTION');
    await assert.rejects(open({ interface: lab.dut.ifname, txBudget: -1 }), (e: AfxdpError) => e.code === 'ERR_INVALID_OPTION');
    await using port = await open({ interface: lab.dut.ifname });
    for (const spinMicros of [-1, Number.NaN, 2_000_000]) {
      await assert.rejects(port.run(() => Verdict.Drop, { spinMicros }), (e: AfxdpError) => e.code === 'ERR_INVALID_OPTION');
    }
  });
});
