/**
 * `npm run bench -- latency`: request/response round trips from the peer
 * namespace through a reflector on the lab's other end, side by side in one
 * run:
 *   - kernel: an XDP program that swaps MACs and returns XDP_TX (the floor),
 *   - TS: a TypeScript handler (swap MACs, Verdict.Tx) in port.run(),
 *     as is and in low-latency mode (run({ spinMicros })),
 *   - native: the Rust consumer doing the same,
 *   - testpmd --forward-mode=macswap (if installed).
 * The prober (Rust, a packet socket busy-polled on its own thread in the
 * peer namespace) sends one request at a time at a fixed rate and times the
 * reply; at "idle" that is all the traffic, "loaded" adds the live-frame
 * generator at full speed (the probes then queue behind its frames).
 */
import { cpus } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Lab, enterNetns, open, Verdict, type Port } from '../ts/index.js';
import { benchFrame, measureNative, pinThread, benchChunkMs, startTraffic } from '../ts/bench.js';
import { binding } from '../ts/native.js';
import { findTestpmd, Testpmd } from './testpmd.js';

interface LatencyOptions {
  seconds: number;
  busyPoll: boolean;
  noDpdk: boolean;
  header: (extra: string[]) => void;
}

type ProbeResult = Awaited<ReturnType<ReturnType<typeof binding.startProbe>['done']>>;

const RATE = Number(process.env.BENCH_PROBE_RATE ?? 1000);
/** The low-latency mode's spin (BENCH_SPIN_MICROS): longer than the gap between probes, it never sleeps between them. */
const SPIN_MICROS = Number(process.env.BENCH_SPIN_MICROS ?? 5000);

function probeFrame(dutMac: string, peerMac: string): Uint8Array {
  const f = benchFrame(dutMac, peerMac);
  f.set([0x9c, 0x41, 0, 7], 34); // 40001 -> 7: the probe filter passes replies to port 7
  return f;
}

export async function latencyBench(o: LatencyOptions): Promise<void> {
  const lab = Lab.create({ name: `bench-${process.pid}` });
  try {
    enterNetns(lab.dut.ns);
    const consumerCpu = cpus().length - 1;
    pinThread(consumerCpu);
    const count = Math.round(RATE * o.seconds);
    const warmup = Math.min(200, count);
    const windowMs = ((count + warmup) / RATE) * 1000;
    const frame = probeFrame(lab.dut.mac, lab.peer.mac);
    const probe = () => binding.startProbe({
      netns: lab.peer.ns, interface: lab.peer.ifname, frame, rate: RATE, count, warmup, timeoutMs: 20, cpu: 0,
    });
    const portOptions = { interface: lab.dut.ifname, batchSize: 64, ...(o.busyPoll ? { busyPoll: true } : {}) };
    const swap = (p: { swapMacs(): void }) => {
      p.swapMacs();
      return Verdict.Tx;
    };

    const tsRun = (spinMicros: number) => async (): Promise<ProbeResult> => {
      const port = await open(portOptions);
      try {
        const ac = new AbortController();
        const loop = port.run(swap, { signal: ac.signal, ...(spinMicros > 0 ? { spinMicros } : {}) });
        await sleep(100);
        const p = probe();
        const r = await p.done();
        ac.abort();
        await loop;
        return r;
      } finally {
        await port.close();
      }
    };
    const reflectors: Array<[string, () => Promise<ProbeResult>]> = [
      ['kernel XDP_TX', async () => {
        const k = new binding.KernelReflector(lab.dut.ifname);
        try {
          return await probe().done();
        } finally {
          k.close();
        }
      }],
      ['TS handler', tsRun(0)],
      [`TS handler, spinMicros ${SPIN_MICROS}`, tsRun(SPIN_MICROS)],
      ['Rust consumer', async () => {
        const port: Port = await open(portOptions);
        try {
          const p = probe();
          measureNative(port, 'swap-mac-tx', windowMs + 50);
          return await p.done();
        } finally {
          await port.close();
        }
      }],
    ];
    const testpmd = o.noDpdk ? null : findTestpmd();
    if (testpmd) {
      reflectors.push(['testpmd macswap', async () => {
        const t = await Testpmd.start(testpmd, { netns: lab.dut.ns, iface: lab.dut.ifname, mode: 'macswap', cpu: consumerCpu, mainCpu: 0 });
        try {
          await t.command('start');
          const r = await probe().done();
          await t.command('stop');
          return r;
        } finally {
          await t.quit();
        }
      }]);
    }

    const results: Array<{ load: string; name: string; r: ProbeResult }> = [];
    let offered = 0;
    for (const load of ['idle', 'loaded']) {
      const traffic = load === 'loaded'
        ? startTraffic({ netns: lab.peer.ns, interface: lab.peer.ifname, frame: benchFrame(lab.dut.mac, lab.peer.mac), chunkMs: benchChunkMs(), cpu: 0 }, reflectors.length * (o.seconds + 5) + 20)
        : null;
      try {
        for (const [name, fn] of reflectors) results.push({ load, name, r: await fn() });
      } finally {
        traffic?.stop();
        const sent = await traffic?.done();
        if (sent) offered = sent.frames / sent.seconds;
      }
    }

    o.header([
      `probe: ${RATE} requests/s, one outstanding, ${count} counted after ${warmup} warm-up, timeout 20 ms; prober on CPU 0 (peer namespace, busy-polled packet socket), reflectors on CPU ${consumerCpu}`,
      `loaded: the live-frame generator sends 64-byte frames at full speed from CPU 0 alongside the probes (${(offered / 1e6).toFixed(3)} Mpps offered)`,
      `port: batch 64${o.busyPoll ? ', busy poll' : ''}`,
    ]);
    console.log('');
    const us = (ns: number) => (Number.isFinite(ns) ? (ns / 1000).toFixed(1) : '-');
    const floor = new Map(results.filter((x) => x.name === 'kernel XDP_TX').map((x) => [x.load, x.r.p99Ns]));
    console.log('| load | reflector | p50 µs | p99 µs | p99.9 µs | max µs | p99 / kernel p99 | lost |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const { load, name, r } of results) {
      const k = floor.get(load);
      console.log(`| ${load} | ${name} | ${us(r.p50Ns)} | ${us(r.p99Ns)} | ${us(r.p999Ns)} | ${us(r.maxNs)} | ${k ? (r.p99Ns / k).toFixed(2) : '-'} | ${r.lost}/${r.sent} |`);
    }
    console.log('');
    console.log(JSON.stringify({ rate: RATE, results }));
  } finally {
    lab.destroy();
  }
}
