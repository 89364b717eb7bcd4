/**
 * `npm run bench`: the data-path benchmark. Creates a veth lab, drives it
 * with the XDP live-frame generator from the peer namespace, and measures
 * side by side in one run, on the same port and rings:
 *   (a) a TypeScript handler that reads the EtherType and drops,
 *   (b) a TypeScript handler that swaps MACs and returns Verdict.Tx,
 * each against the native ceiling (Rust consumer doing the same work).
 * Prints a Markdown table (for BENCHMARKS.md) and a JSON line.
 */
import { cpus, release } from 'node:os';
import { Lab, enterNetns, open, Verdict } from '../ts/index.js';
import { benchFrame, compare, pinThread, startTraffic, type Comparison } from '../ts/bench.js';

const seconds = Number(process.env.BENCH_WINDOW_S ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);


const lab = Lab.create({ name: `bench-${process.pid}` });
try {
  enterNetns(lab.dut.ns);
  // Generator on CPU 0 (the kernel's receive path runs there too, in its
  // softirq), the consumer (this thread) on the last CPU.
  const consumerCpu = cpus().length - 1;
  pinThread(consumerCpu);
  const port = await open({ interface: lab.dut.ifname, batchSize: 64 });
  const windows = 2 * (rounds + 1) * 2 + 2;
  const traffic = startTraffic({
    netns: lab.peer.ns,
    interface: lab.peer.ifname,
    frame: benchFrame(lab.dut.mac, lab.peer.mac),
    cpu: 0,
  }, windows * seconds + 10);
  let etherTypes = 0;
  const results: Record<string, Comparison> = {};
  try {
    results['read EtherType, drop'] = await compare(port, (p) => {
      etherTypes = (etherTypes ^ p.u16(12)) | 1; // stays a small integer: no allocation
      return Verdict.Drop;
    }, 'drop', { rounds, windowMs: seconds * 1000 });
    results['swap MACs, Verdict.Tx'] = await compare(port, (p) => {
      p.swapMacs();
      return Verdict.Tx;
    }, 'swap-mac-tx', { rounds, windowMs: seconds * 1000 });
  } finally {
    traffic.stop();
  }
  const sent = await traffic.done();
  const stats = port.stats();
  await port.close();

  const mpps = (x: number) => (x / 1e6).toFixed(3);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, Linux ${release()}, Node ${process.version}`);
  console.log(`generator: ${mpps(sent.frames / sent.seconds)} Mpps offered (64-byte UDP, XDP live frames, peer namespace)`);
  console.log(`threads: generator on CPU 0, consumer on CPU ${consumerCpu}`);
  console.log(`port: attach ${stats.attachMode}, zero-copy ${stats.zeroCopy}, batch 64, windows ${rounds} x ${seconds}s each side`);
  console.log('');
  console.log('| handler | TypeScript Mpps | native Mpps | ratio | TS CPU ns/pkt | native CPU ns/pkt | TS frames/batch | TS ns/pkt in handler calls |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, c] of Object.entries(results)) {
    console.log(`| ${name} | ${mpps(c.handlerFps)} | ${mpps(c.nativeFps)} | ${c.ratio.toFixed(3)} | ${c.handlerCpuNsPerPacket.toFixed(1)} | ${c.nativeCpuNsPerPacket.toFixed(1)} | ${c.handlerBatchSize.toFixed(1)} | ${c.handlerCallNsPerPacket.toFixed(1)} |`);
  }
  console.log('');
  console.log(JSON.stringify({ results, sent, etherTypes: etherTypes > 0 }));
} finally {
  lab.destroy();
}
