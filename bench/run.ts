/**
 * `npm run bench [-- latency] [--queues N] [--busy-poll] [--spin-micros N] [--no-dpdk]`:
 * the data-path benchmarks. Creates a veth lab, drives it with the XDP
 * live-frame generator from the peer namespace and prints Markdown tables
 * (for BENCHMARKS.md) and a JSON line.
 *
 *   (default)  throughput, one queue: TS handler / Rust consumer / testpmd
 *   --queues N throughput on N queues, one worker thread per queue
 *   latency    request/response round trips through a reflector
 *
 * Environment: BENCH_WINDOW_S (default 2), BENCH_ROUNDS (default 3),
 * BENCH_CASE (drop or swap-mac-tx: that case only).
 */
import { cpus, loadavg, release } from 'node:os';
import { parseArgs } from 'node:util';
import { Lab, enterNetns } from '../ts/index.js';
import { benchFrame, pinThread, benchChunkMs, startTraffic } from '../ts/bench.js';
import { CASES, checksum, printThroughput, runCase, type Case, type CaseResult } from './throughput.js';
import { findTestpmd } from './testpmd.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    queues: { type: 'string', default: '1' },
    'busy-poll': { type: 'boolean', default: false },
    'no-dpdk': { type: 'boolean', default: false },
    'tx-budget': { type: 'string' },
    batch: { type: 'string', default: '64' },
    'spin-micros': { type: 'string', default: '0' },
  },
});
const seconds = Number(process.env.BENCH_WINDOW_S ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const queues = Number(args.queues);
const mode = positionals[0] ?? 'throughput';
const batchSize = Number(args.batch);
// Port options under test: --busy-poll, --tx-budget N (0: the kernel's 32), --batch N.
const portOptions = {
  batchSize,
  ...(args['busy-poll'] ? { busyPoll: true } : {}),
  ...(args['tx-budget'] !== undefined ? { txBudget: Number(args['tx-budget']) } : {}),
  // BENCH_MULTI_BUFFER=1: the same 64-byte run on a multi-buffer port (XDP_USE_SG + frags program).
  ...(process.env.BENCH_MULTI_BUFFER === '1' ? { multiBuffer: true } : {}),
};

function header(extra: string[]): void {
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, Linux ${release()}, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  const pmd = args['no-dpdk'] ? 'left out (--no-dpdk)' : (findTestpmd() ?? 'absent (apt-get install dpdk-dev)');
  console.log(`testpmd: ${pmd}`);
  for (const line of extra) console.log(line);
}

if (mode === 'latency') {
  const { latencyBench } = await import('./latency.js');
  await latencyBench({ seconds, busyPoll: args['busy-poll'], noDpdk: args['no-dpdk'], header });
} else if (queues > 1) {
  const { multiQueueBench } = await import('./multiqueue.js');
  await multiQueueBench({ queues, seconds, rounds, busyPoll: args['busy-poll'], header });
} else {
  // BENCH_CASE=drop or BENCH_CASE=swap-mac-tx: one case only.
  const only = process.env.BENCH_CASE;
  const cases = CASES.filter((x) => !only || x.work === only);
  if (cases.length === 0) throw new Error(`BENCH_CASE must be one of ${CASES.map((x) => x.work).join(', ')}, got ${only}`);
  const chunkMs = benchChunkMs(); // checked before any lab is made
  const lab = Lab.create({ name: `bench-${process.pid}` });
  try {
    enterNetns(lab.dut.ns);
    // Generator on CPU 0 (the kernel's receive path runs there too, in its
    // softirq), the consumer (this thread, or testpmd's forwarding core) on the last CPU.
    const consumerCpu = cpus().length - 1;
    pinThread(consumerCpu);
    const sides = args['no-dpdk'] || !findTestpmd() ? 2 : 3;
    // Warm-ups and testpmd's start-up (about 1 s each) come on top of the windows.
    const budget = CASES.length * rounds * sides * (seconds + 2) + 20;
    const traffic = startTraffic({
      netns: lab.peer.ns,
      interface: lab.peer.ifname,
      frame: benchFrame(lab.dut.mac, lab.peer.mac),
      chunkMs,
      cpu: 0,
    }, budget);
    const results: Array<[Case, CaseResult]> = [];
    try {
      for (const c of cases) {
        results.push([c, await runCase(c, {
          dut: lab.dut,
          consumerCpu,
          mainCpu: 0,
          rounds,
          windowMs: seconds * 1000,
          portOptions,
          noDpdk: args['no-dpdk'],
          spinMicros: Number(args['spin-micros']),
        })]);
      }
    } finally {
      traffic.stop();
    }
    const sent = await traffic.done();
    const mpps = (x: number) => (x / 1e6).toFixed(3);
    header([
      `generator: ${mpps(sent.frames / sent.seconds)} Mpps offered (64-byte UDP, XDP live frames, peer namespace, kernel runs of ${chunkMs} ms)`,
      `threads: generator on CPU 0, consumer (TS, native, testpmd forwarding lcore) on CPU ${consumerCpu}`,
      `port: ${JSON.stringify(portOptions)}${Number(args['spin-micros']) ? `; TS run({ spinMicros: ${args['spin-micros']} })` : ''}; testpmd burst ${batchSize}; windows ${rounds} x ${seconds}s each side, order rotating`,
      'Mpps: frames received (drop) or sent back (Tx); medians of the windows',
    ]);
    console.log('');
    printThroughput(results);
    console.log('');
    console.log(JSON.stringify({ results: results.map(([c, r]) => ({ name: c.name, ...r })), sent, checksum: checksum() }));
  } finally {
    lab.destroy();
  }
}
