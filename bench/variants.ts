/**
 * Before/after of port options in one run: `node --import tsx
 * bench/variants.ts '<json>' [drop|swap-mac-tx] [rounds] [ms]`, where
 * <json> names variants of open() options, e.g.
 * '{"budget 32":{"txBudget":0},"budget ring":{}}'. Each round opens a port
 * per variant in turn (same lab, same generator) and measures a native and
 * a TypeScript window on it; medians per variant are printed. A variant's
 * "capture" (port.capture options, e.g. {"path":"/dev/null"}) starts a live
 * capture on its port before the windows: '{"off":{},"on":{"capture":{"path":"/dev/null"}}}'.
 * A variant's "env" is set in the environment while its port is opened
 * (the UMEM reads AFXDP_NO_PREFETCH then): '{"on":{},"off":{"env":{"AFXDP_NO_PREFETCH":"1"}}}'.
 * Besides medians, each variant's windows are compared with the first
 * variant's windows of the same round (paired: drift between rounds cancels),
 * and the handler's own time per frame (inside port.run, around the handler
 * calls) is reported, which the kernel's share of the CPU does not blur.
 */
import { cpus } from 'node:os';
import { Lab, enterNetns, open, type OpenOptions } from '../ts/index.js';
import { benchFrame, measureHandler, measureNative, pinThread, benchChunkMs, startTraffic, type WindowResult } from '../ts/bench.js';
import { CASES } from './throughput.js';
import type { CaptureOptions } from '../ts/capture/index.js';

type Variant = Omit<OpenOptions, 'interface'> & { capture?: CaptureOptions; env?: Record<string, string> };
const variants = JSON.parse(process.argv[2] ?? '{"budget 32":{"txBudget":0},"budget ring":{}}') as Record<string, Variant>;
const work = process.argv[3] === 'drop' ? 'drop' : 'swap-mac-tx';
const rounds = Number(process.argv[4] ?? 5);
const ms = Number(process.argv[5] ?? 1500);
const c = CASES.find((x) => x.work === work)!;

/** Run `f` with `env` set, then put back what the variables were before. */
async function withEnv<T>(env: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(before)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
const frames = (w: WindowResult) => (c.countTx ? (w.tx ?? w.frames) : w.frames);

const lab = Lab.create({ name: `bench-${process.pid}` });
try {
  enterNetns(lab.dut.ns);
  pinThread(cpus().length - 1);
  const names = Object.keys(variants);
  const traffic = startTraffic({ netns: lab.peer.ns, interface: lab.peer.ifname, frame: benchFrame(lab.dut.mac, lab.peer.mac), chunkMs: benchChunkMs(), cpu: 0 },
    rounds * names.length * (2 * ms / 1000 + 1) + 10);
  const res: Record<string, { ts: WindowResult[]; native: WindowResult[] }> = {};
  try {
    for (let r = 0; r < rounds; r++) {
      for (const name of r % 2 ? [...names].reverse() : names) {
        const { capture: captureOptions, env = {}, ...options } = variants[name]!;
        const port = await withEnv(env, () => open({ interface: lab.dut.ifname, batchSize: 64, ...options }));
        const capture = captureOptions ? port.capture(captureOptions) : null;
        await measureHandler(port, c.handler, 200);
        const n = measureNative(port, c.work, ms);
        const t = await measureHandler(port, c.handler, ms);
        if (capture) {
          await capture.stop();
          const s = capture.stats();
          console.log(`${name}: capture wrote ${s.written} records, dropped ${s.dropped}`);
        }
        await port.close();
        (res[name] ??= { ts: [], native: [] }).ts.push(t);
        res[name].native.push(n);
      }
    }
  } finally {
    traffic.stop();
  }
  const sent = await traffic.done();
  console.log(`${c.name}: ${rounds} rounds x ${ms} ms per side and variant, generator ${(sent.frames / sent.seconds / 1e6).toFixed(3)} Mpps offered`);
  const base = res[names[0]!]!;
  const handlerNs = (w: WindowResult) => (w.handlerNs ?? 0) / Math.max(1, w.frames);
  console.log(`| variant | TS Mpps | native Mpps | TS CPU ns/pkt | native CPU ns/pkt | TS handler ns/frame | TS / ${names[0]} (paired) | native / ${names[0]} (paired) |`);
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [name, r] of Object.entries(res)) {
    const rate = (w: WindowResult) => frames(w) / w.seconds;
    const mpps = (w: WindowResult[]) => (median(w.map(rate)) / 1e6).toFixed(3);
    const cpu = (w: WindowResult[]) => median(w.map((x) => x.cpuNs / Math.max(1, frames(x)))).toFixed(1);
    const paired = (w: WindowResult[], b: WindowResult[]) => median(w.map((x, i) => rate(x) / rate(b[i]!))).toFixed(3);
    console.log(`| ${name} | ${mpps(r.ts)} | ${mpps(r.native)} | ${cpu(r.ts)} | ${cpu(r.native)} | ${median(r.ts.map(handlerNs)).toFixed(1)} | ${paired(r.ts, base.ts)} | ${paired(r.native, base.native)} |`);
  }
} finally {
  lab.destroy();
}
