/**
 * `npm run bench:pass`: what Verdict.Pass costs. A veth lab under the XDP
 * live-frame generator (64-byte UDP to the DUT's address, to a port with no
 * socket); windows alternate a handler that drops every frame and one that
 * passes every frame to the kernel stack, on the same port. Reports frames
 * per second each way and CPU time per frame of the consumer thread, which
 * includes the kernel's receive path for the passed frames (they are
 * delivered inside the BPF_PROG_RUN call, on this thread), so the
 * difference is the extra CPU per passed frame.
 */
import { cpus, release } from 'node:os';
import { Lab, enterNetns, open, Verdict } from '../ts/index.js';
import { benchFrame, measureHandler, pinThread, benchChunkMs, startTraffic, type WindowResult } from '../ts/bench.js';

const seconds = Number(process.env.BENCH_WINDOW_S ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const lab = Lab.create({ name: `bpass-${process.pid}` });
try {
  enterNetns(lab.dut.ns);
  const consumerCpu = cpus().length - 1;
  pinThread(consumerCpu);
  const mode = (process.env.BENCH_MODE ?? 'native') as 'native' | 'skb';
  const port = await open({ interface: lab.dut.ifname, batchSize: 64, mode });
  const traffic = startTraffic({ netns: lab.peer.ns, interface: lab.peer.ifname, frame: benchFrame(lab.dut.mac, lab.peer.mac), chunkMs: benchChunkMs(), cpu: 0 }, (2 * rounds + 2) * seconds + 10);
  const runs: Record<'drop' | 'pass', WindowResult[]> = { drop: [], pass: [] };
  try {
    await measureHandler(port, () => Verdict.Pass, 300); // warm-up
    for (let i = 0; i < rounds; i++) {
      runs.drop.push(await measureHandler(port, () => Verdict.Drop, seconds * 1000));
      runs.pass.push(await measureHandler(port, () => Verdict.Pass, seconds * 1000));
    }
  } finally {
    traffic.stop();
  }
  const sent = await traffic.done();
  const stats = port.stats();
  await port.close();
  const fps = (r: WindowResult) => r.frames / r.seconds;
  const cpp = (r: WindowResult) => r.cpuNs / Math.max(1, r.frames);
  const row = (name: string, rs: WindowResult[]) => ({ name, fps: median(rs.map(fps)), cpuNs: median(rs.map(cpp)) });
  const drop = row('Verdict.Drop', runs.drop);
  const pass = row('Verdict.Pass', runs.pass);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model}, Linux ${release()}, Node ${process.version}`);
  console.log(`generator: ${(sent.frames / sent.seconds / 1e6).toFixed(3)} Mpps offered; port: attach ${stats.attachMode}, batch 64, ${rounds} x ${seconds}s windows each`);
  console.log(`passed ${stats.passed}, pass failed ${stats.passFailed}`);
  console.log('');
  console.log('| handler | Mpps | consumer CPU ns/frame |');
  console.log('|---|---|---|');
  for (const r of [drop, pass]) console.log(`| ${r.name} | ${(r.fps / 1e6).toFixed(3)} | ${r.cpuNs.toFixed(1)} |`);
  console.log('');
  console.log(`extra CPU per passed frame: ${(pass.cpuNs - drop.cpuNs).toFixed(1)} ns`);
  console.log(JSON.stringify({ mode: stats.attachMode, drop, pass, passed: stats.passed, passFailed: stats.passFailed }));
} finally {
  lab.destroy();
}
