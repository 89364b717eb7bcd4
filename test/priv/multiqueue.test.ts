/**
 * Several queues of one interface: one port per queue, each in its own
 * worker thread, sharing the interface's steering program.
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { udpFrame } from '../helpers/frames.js';
import { peer, requirePrivileges, withLab } from '../helpers/priv.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

function message(worker: Worker): Promise<any> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

test('two queues, two worker threads: frames handled on both, none lost', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({ queues: 2 }, async (lab) => {
    // veth delivers on the RX queue matching the sender's TX queue, which
    // the peer's stack picks by flow hash (no XPS on veth): 1,000 distinct
    // flows spread over both queues. (tc skbedit would pin them, but this
    // kernel has no act_skbedit.)
    const workers = [0, 1].map((queue) => new Worker(join(fixtures, 'ts-worker.mjs'), {
      workerData: { entry: pathToFileURL(join(fixtures, 'queue-worker.ts')).href, ifname: lab.dut.ifname, queue },
    }));
    try {
      // Listen to both at once: a worker's message emitted while nobody
      // listens on its 'message' event is lost.
      for (const reply of await Promise.all(workers.map(message))) assert.deepEqual(reply, { ready: true });
      const frames = Array.from({ length: 4000 }, (_, i) => udpFrame({
        dstMac: lab.dut.mac, srcMac: lab.peer.mac, srcIp: '192.0.2.2', dstIp: '192.0.2.1',
        srcPort: 40000 + (i % 1000), dstPort: 9, length: 60 + (i % 200), seed: i,
      }));
      const result = await peer(lab, { send: frames, capture: true, expect: frames.length });
      const stats = await Promise.all(workers.map((w) => {
        const reply = message(w);
        w.postMessage('stop');
        return reply;
      }));
      assert.equal(result.captured.length, frames.length, `echoed ${result.captured.length}; ${JSON.stringify(stats)}`);
      assert.ok(stats[0].handled > 0, `queue 0 handled nothing: ${JSON.stringify(stats)}`);
      assert.ok(stats[1].handled > 0, `queue 1 handled nothing: ${JSON.stringify(stats)}`);
      assert.equal(stats[0].handled + stats[1].handled, frames.length);
      for (const s of stats) assert.equal(s.rx, s.handled);
      for (const s of stats) assert.equal(s.accounting.consistent, true);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
    assert.equal(lab.xdpProgramId(lab.dut), null);
  });
});
