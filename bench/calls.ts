/**
 * What one batch's native crossing costs, without traffic (`npm run
 * bench:calls`): the run loop's `batchCycle` (commit + receive in one plain
 * function call) against the `rx` + `commit` class-method pair it replaced,
 * on an open port with an empty ring, so that only the call machinery and
 * the empty-batch bookkeeping are timed. Alternates the two three times.
 */
import { Lab, enterNetns, open } from '../ts/index.js';
import { binding } from '../ts/native.js';

const CALLS = 1_000_000;
const lab = Lab.create({ name: `calls-${process.pid}` });
try {
  enterNetns(lab.dut.ns);
  const port = await open({ interface: lab.dut.ifname, batchSize: 64 });
  const umem = port.umem.native;
  const table = new Uint32Array(128);
  const verdicts = new Uint8Array(64);
  const handle = umem.batchHandle();
  const cycle = binding.batchCycle;
  const cases: Array<[string, () => void]> = [
    ['rx + commit (two class methods)', () => {
      umem.rx(port.index, table);
      umem.commit(port.index, table, verdicts);
    }],
    // commit=true, as the run loop passes: committing the empty batch is
    // the same work the commit half of the pair above does.
    ['batchCycle (one function)', () => void cycle(handle, port.index, table, verdicts, true)],
  ];
  console.log('| round | call per batch | ns per batch |');
  console.log('|---|---|---|');
  for (let round = 1; round <= 3; round++) {
    for (const [name, call] of cases) {
      for (let i = 0; i < 100_000; i++) call(); // warm-up: JIT and caches
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) call();
      const ns = Number(process.hrtime.bigint() - t0) / CALLS;
      console.log(`| ${round} | ${name} | ${ns.toFixed(1)} |`);
    }
  }
  await port.close();
} finally {
  lab.destroy();
}
