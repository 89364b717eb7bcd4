/**
 * `npm run bench -- --queues N`: the throughput benchmark on N queues. The
 * lab's veth gets N queues; N generator threads, thread i pinned to CPU
 * i mod CPUs (a veth puts frames sent with XDP on the receive queue of the
 * sending CPU, so generator i feeds queue i); one worker thread per queue,
 * worker i pinned to CPU i mod CPUs, with a port of its own (its own UMEM),
 * as the daemon does. Windows of all queues run at the same time; TS and
 * native windows alternate.
 */
import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Lab } from '../ts/index.js';
import { benchFrame, benchChunkMs, startTraffic, type WindowResult } from '../ts/bench.js';
import { CASES } from './throughput.js';
import type { MqRequest, MqWorkerData } from './mq-worker.js';

interface MqOptions {
  queues: number;
  seconds: number;
  rounds: number;
  busyPoll: boolean;
  header: (extra: string[]) => void;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

class QueueWorker {
  readonly worker: Worker;
  #pending: ((v: unknown) => void) | null = null;
  constructor(data: MqWorkerData) {
    // Node 20 does not run a worker's .ts entry through the parent's tsx
    // loader: the worker registers tsx itself, then imports the entry.
    const entry = new URL('./mq-worker.ts', import.meta.url).href;
    const boot = `import('tsx/esm/api').then((t) => { t.register(); return import(${JSON.stringify(entry)}); })`;
    this.worker = new Worker(boot, { eval: true, workerData: data });
    this.worker.on('message', (m) => {
      const p = this.#pending;
      this.#pending = null;
      p?.(m);
    });
    this.worker.on('error', (e) => {
      throw e;
    });
  }
  next<T>(): Promise<T> {
    return new Promise((resolve) => (this.#pending = resolve as (v: unknown) => void));
  }
  ask<T>(m: MqRequest): Promise<T> {
    const p = this.next<T>();
    this.worker.postMessage(m);
    return p;
  }
}

export async function multiQueueBench(o: MqOptions): Promise<void> {
  const n = cpus().length;
  const lab = Lab.create({ name: `bench-${process.pid}`, queues: o.queues });
  const workers: QueueWorker[] = [];
  const traffics: Array<ReturnType<typeof startTraffic>> = [];
  try {
    for (let q = 0; q < o.queues; q++) {
      const w = new QueueWorker({ ns: lab.dut.ns, ifname: lab.dut.ifname, queue: q, cpu: q % n, busyPoll: o.busyPoll });
      workers.push(w);
      await w.next();
    }
    const budget = CASES.length * (o.rounds * 2 + 1) * (o.seconds + 1) + 20;
    for (let q = 0; q < o.queues; q++) {
      traffics.push(startTraffic({ netns: lab.peer.ns, interface: lab.peer.ifname, frame: benchFrame(lab.dut.mac, lab.peer.mac), chunkMs: benchChunkMs(), cpu: q % n }, budget));
    }
    const rows: string[] = [];
    const json: unknown[] = [];
    try {
      for (let ci = 0; ci < CASES.length; ci++) {
        const c = CASES[ci]!;
        const all = (side: 'ts' | 'native', ms: number) => Promise.all(workers.map((w) => w.ask<WindowResult>({ side, caseIndex: ci, ms })));
        await all('ts', 300);
        await all('native', 200);
        const per: Record<'ts' | 'native', WindowResult[][]> = { ts: [], native: [] };
        for (let r = 0; r < o.rounds; r++) {
          for (const side of (r % 2 ? ['ts', 'native'] : ['native', 'ts']) as Array<'ts' | 'native'>) {
            per[side].push(await all(side, o.seconds * 1000));
          }
        }
        const rate = (w: WindowResult) => (c.countTx ? (w.tx ?? w.frames) : w.frames) / w.seconds;
        for (const side of ['ts', 'native'] as const) {
          const perQueue = workers.map((_, q) => median(per[side].map((round) => rate(round[q]!))));
          const total = median(per[side].map((round) => round.reduce((s, w) => s + rate(w), 0)));
          rows.push(`| ${c.name} | ${side === 'ts' ? 'TypeScript' : 'native'} | ${perQueue.map((x) => (x / 1e6).toFixed(3)).join(' / ')} | ${(total / 1e6).toFixed(3)} |`);
          json.push({ name: c.name, side, perQueue, total });
        }
      }
    } finally {
      for (const t of traffics) t.stop();
    }
    let offered = 0;
    for (const t of traffics) {
      const s = await t.done();
      offered += s.frames / s.seconds;
    }
    o.header([
      `queues: ${o.queues}; generator i and worker i on CPU i mod ${n}; ${(offered / 1e6).toFixed(3)} Mpps offered in all`,
      `port: batch 64 per queue${o.busyPoll ? ', busy poll' : ''}; windows ${o.rounds} x ${o.seconds}s each side, all queues at once`,
      'Mpps: frames received (drop) or sent back (Tx); per queue and total, medians of the windows',
    ]);
    console.log('');
    console.log('| handler | consumer | Mpps per queue | Mpps total |');
    console.log('|---|---|---|---|');
    for (const r of rows) console.log(r);
    console.log('');
    console.log(JSON.stringify({ queues: o.queues, results: json }));
  } finally {
    for (const w of workers) {
      try {
        await w.ask({ side: 'close', caseIndex: 0, ms: 0 });
      } catch {
        // worker already gone
      }
      await w.worker.terminate();
    }
    lab.destroy();
  }
}
