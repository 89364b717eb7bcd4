/**
 * `node --import tsx bench/jumbo.ts`: the 9000-byte rate in Gbit/s. A veth
 * lab with MTU 9000 on both ends; the peer sends 9014-byte frames from an
 * AF_XDP port (multi-buffer TX: three 4 KiB segments a frame; the
 * live-frame generator of the other benches sends at most a page) in a
 * worker thread; the DUT's port (multi-buffer RX) runs a TypeScript handler
 * that drops every frame, then one that sends every frame back (MACs
 * swapped), in alternating windows. Frames and bits per second are what the
 * DUT's port received (and, for Tx, sent). The sender is one JS thread
 * calling port.send per frame: the figure is the lab's, bounded by either
 * side; the sender's own rate is printed next to it.
 */
import { cpus, release } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Lab, enterNetns, open, Verdict, type Packet } from '../ts/index.js';
import { buildUdp } from '../ts/packet/index.js';
import { measureHandler, pinThread, type WindowResult } from '../ts/bench.js';
import { workerBootstrap } from '../ts/handler/loader.js';

const seconds = Number(process.env.BENCH_WINDOW_S ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const FRAME_BYTES = 9014;

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const lab = Lab.create({ name: `bjumbo-${process.pid}`, mtu: 9000 });
try {
  enterNetns(lab.dut.ns);
  pinThread(cpus().length - 1);
  const port = await open({ interface: lab.dut.ifname, batchSize: 64 });
  const frame = buildUdp({ srcMac: lab.peer.mac, dstMac: lab.dut.mac, src: lab.peer.ipv4, dst: lab.dut.ipv4, srcPort: 9, dstPort: 9, payload: new Uint8Array(FRAME_BYTES - 42) });
  const stop = new SharedArrayBuffer(4);
  const sender = new Worker(workerBootstrap(new URL('./jumbo-sender.ts', import.meta.url)), {
    eval: true,
    workerData: { ns: lab.peer.ns, ifname: lab.peer.ifname, frame, cpu: 0, stop },
  });
  const senderDone = new Promise<number>((resolve, reject) => {
    sender.on('message', (m: { type: string; sent?: number }) => m.type === 'done' && resolve(m.sent!));
    sender.on('error', reject);
  });
  await new Promise<void>((resolve, reject) => {
    sender.once('message', () => resolve());
    sender.once('error', reject);
  });
  const swap = (p: Packet) => {
    p.swapMacs();
    return Verdict.Tx;
  };
  const runs: Record<'drop' | 'tx', WindowResult[]> = { drop: [], tx: [] };
  const started = performance.now();
  try {
    await measureHandler(port, () => Verdict.Drop, 300); // warm-up
    for (let i = 0; i < rounds; i++) {
      runs.drop.push(await measureHandler(port, () => Verdict.Drop, seconds * 1000));
      runs.tx.push(await measureHandler(port, swap, seconds * 1000));
    }
  } finally {
    Atomics.store(new Int32Array(stop), 0, 1);
  }
  const sent = await senderDone;
  const elapsed = (performance.now() - started) / 1000;
  const stats = port.stats();
  await port.close();
  const fps = (w: WindowResult, tx: boolean) => (tx ? (w.tx ?? w.frames) : w.frames) / w.seconds;
  const gbps = (f: number) => (f * FRAME_BYTES * 8) / 1e9;
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, Linux ${release()}, Node ${process.version}`);
  console.log(`${FRAME_BYTES}-byte frames, veth MTU 9000; DUT port: attach ${stats.attachMode}, multi-buffer ${stats.multiBuffer}, ${rounds} x ${seconds} s windows each`);
  console.log(`sender (AF_XDP port.send in one thread): ${(sent / elapsed / 1e3).toFixed(1)} kframes/s offered, ${gbps(sent / elapsed).toFixed(2)} Gbit/s`);
  console.log('');
  console.log('| handler | kframes/s | Gbit/s (frame bytes) | consumer CPU ns/frame |');
  console.log('|---|---|---|---|');
  for (const [name, rs, tx] of [['Verdict.Drop', runs.drop, false], ['swap MACs + Verdict.Tx (sent back)', runs.tx, true]] as const) {
    const f = median(rs.map((w) => fps(w, tx)));
    const cpu = median(rs.map((w) => w.cpuNs / Math.max(1, w.frames)));
    console.log(`| ${name} | ${(f / 1e3).toFixed(1)} | ${gbps(f).toFixed(2)} | ${cpu.toFixed(0)} |`);
  }
} finally {
  lab.destroy();
}
