/**
 * No leaks across open()/close(): close frees the UMEM mapping, the wake-up
 * eventfd and every fd at once (not at garbage collection), and a view of
 * the UMEM kept past close reads as empty instead of freed memory.
 *
 * The long run keeps one port open on queue 0 so the steering program stays
 * attached: loading it (the BPF verifier) is most of a full cycle's cost
 * (see BENCHMARKS.md), and is covered by the shorter full-cycle case. Per-
 * cycle times are printed as diagnostics, never asserted.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { open, type Port } from '../../ts/index.js';
import { AfxdpError } from '../../ts/errors.js';
import { requirePrivileges, withLab } from '../helpers/priv.js';

const CYCLES = Number(process.env.AFXDP_OPEN_CLOSE_CYCLES ?? 10_000);
/** Check the bounds this often, so that a leak fails early. */
const CHECK_EVERY = 250;
const FD_SLACK = 4;
const RSS_SLACK_MIB = 64;

const openFds = () => readdirSync('/proc/self/fd').length;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

/**
 * Open, retrying while the queue is busy: the kernel releases a closed
 * socket's hold on its queue from a workqueue, a moment after close().
 */
async function openRetrying(options: Parameters<typeof open>[0]): Promise<{ port: Port; retries: number }> {
  for (let retries = 0; ; retries++) {
    try {
      return { port: await open(options), retries };
    } catch (err) {
      if (!(err instanceof AfxdpError) || err.code !== 'ERR_QUEUE_BUSY' || retries >= 1000) throw err;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

test(`${CYCLES} open/close cycles in one process: fds and RSS stay flat`, { timeout: 1_800_000 }, async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({ queues: 8 }, async (lab) => {
    const holder = await open({ interface: lab.dut.ifname, queue: 0 });
    try {
      // 1 MiB UMEMs: what leaked per cycle was the whole UMEM, whatever its size.
      const cycle = async (i: number) => {
        const { port, retries } = await openRetrying({ interface: lab.dut.ifname, queue: 1 + (i % 7), frames: 256 });
        await port.close();
        return retries;
      };
      for (let i = 0; i < 50; i++) await cycle(i); // warm up the heap and JIT
      const fds0 = openFds();
      const rss0 = rssMiB();
      let retries = 0;
      const started = performance.now();
      for (let i = 0; i < CYCLES; i++) {
        retries += await cycle(i);
        if ((i + 1) % CHECK_EVERY === 0 || i + 1 === CYCLES) {
          const fds = openFds();
          const rss = rssMiB();
          assert.ok(fds - fds0 <= FD_SLACK, `after ${i + 1} cycles: ${fds} fds open, ${fds0} before`);
          assert.ok(rss - rss0 <= RSS_SLACK_MIB, `after ${i + 1} cycles: RSS ${rss.toFixed(0)} MiB, ${rss0.toFixed(0)} MiB before`);
        }
      }
      const ms = (performance.now() - started) / CYCLES;
      t.diagnostic(`${CYCLES} cycles, ${ms.toFixed(2)} ms/cycle (1 MiB UMEM, program kept attached), ${retries} busy-queue retries; fds ${fds0} -> ${openFds()}, RSS ${rss0.toFixed(0)} -> ${rssMiB().toFixed(0)} MiB`);
    } finally {
      await holder.close();
    }
  });
});

test('full cycles (program attached and detached each time) leak no fd', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    await (await open({ interface: lab.dut.ifname })).close();
    const fds0 = openFds();
    const started = performance.now();
    const cycles = 10;
    for (let i = 0; i < cycles; i++) {
      const port = await open({ interface: lab.dut.ifname });
      await port.close();
      assert.equal(lab.xdpProgramId(lab.dut), null, 'detached after close');
    }
    t.diagnostic(`${((performance.now() - started) / cycles).toFixed(0)} ms per full cycle (default 16 MiB UMEM)`);
    assert.equal(openFds(), fds0, 'open fds after the cycles');
  });
});

test('a view of the UMEM kept past close() reads as empty, not freed memory', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const port = await open({ interface: lab.dut.ifname });
    const kept = port.umem.bytes; // as a handler that kept a packet's bytes would
    const view = new DataView(kept.buffer);
    assert.equal(kept.byteLength, 4096 * 4096);
    kept[0] = 7;
    await port.close();
    assert.equal(kept.byteLength, 0, 'the ArrayBuffer is detached');
    assert.equal(kept[0], undefined);
    assert.throws(() => view.getUint8(0), TypeError);
    assert.equal(port.closed, true);
  });
});
