/**
 * Worker of bench/jumbo.ts: in the peer namespace, an AF_XDP port (multi-
 * buffer) that sends one jumbo frame over and over with port.send until
 * told to stop, then reports how many it sent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { enterNetns, open } from '../ts/index.js';
import { pinThread } from '../ts/bench.js';

const { ns, ifname, frame, cpu } = workerData as { ns: string; ifname: string; frame: Uint8Array; cpu: number };
enterNetns(ns);
pinThread(cpu);
const port = await open({ interface: ifname, multiBuffer: true });
const stop = new Int32Array(workerData.stop as SharedArrayBuffer);
let sent = 0;
parentPort!.postMessage({ type: 'ready' });
while (Atomics.load(stop, 0) === 0) {
  for (let i = 0; i < 64; i++) {
    if (port.send(frame)) sent++;
    else {
      port.flush();
      break;
    }
  }
  port.flush();
}
await port.close();
parentPort!.postMessage({ type: 'done', sent });
