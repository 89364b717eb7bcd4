/**
 * One queue of the multi-queue benchmark, on a worker thread of its own (as
 * the daemon runs one worker per queue): pins itself, opens its queue's
 * port, and measures the windows the main thread asks for.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { enterNetns, open } from '../ts/index.js';
import { measureHandler, measureNative, pinThread } from '../ts/bench.js';
import { CASES } from './throughput.js';

export interface MqWorkerData {
  ns: string;
  ifname: string;
  queue: number;
  cpu: number;
  busyPoll: boolean;
}
export type MqRequest = { side: 'ts' | 'native' | 'close'; caseIndex: number; ms: number };

const d = workerData as MqWorkerData;
enterNetns(d.ns);
pinThread(d.cpu);
const port = await open({ interface: d.ifname, queue: d.queue, batchSize: 64, ...(d.busyPoll ? { busyPoll: true } : {}) });
parentPort!.on('message', async (m: MqRequest) => {
  if (m.side === 'close') {
    await port.close();
    parentPort!.postMessage({ closed: true });
    return;
  }
  const c = CASES[m.caseIndex]!;
  const w = m.side === 'ts' ? await measureHandler(port, c.handler, m.ms) : measureNative(port, c.work, m.ms);
  parentPort!.postMessage(w);
});
parentPort!.postMessage({ ready: true });
