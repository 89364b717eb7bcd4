/**
 * Start-up time of the afxdp command: `afxdp --help` to exit, and `afxdp run`
 * of a TypeScript handler (examples/reflector.ts) on a lab veth to its
 * "afxdp: running" line. Runs each command N times per bin, alternating the
 * bins, and prints the median and min wall time of each and their ratio.
 *
 *   node --import tsx bench/startup.ts [--runs N] [bin.js ...]
 *
 * With no bins it measures bin/afxdp.js (compiled dist/, needs `npm run
 * build`). Pass another bin (e.g. an older commit's bin/afxdp.js, written
 * next to this one) to compare. Needs root for the `run` half.
 */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab } from '../ts/lab.js';

const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 10;
const bins = args.filter((a, i) => !a.startsWith('--') && i !== runsAt + 1);
if (bins.length === 0) bins.push(join(root, 'bin', 'afxdp.js'));

function helpOnce(bin: string): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [bin, '--help'], { stdio: 'ignore' });
  if (r.status !== 0) throw new Error(`${bin} --help exited ${r.status}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

/** Milliseconds from spawn to the "running" line; then SIGTERM and wait for the exit. */
function runOnce(bin: string, lab: Lab): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('ip', ['netns', 'exec', lab.dut.ns, process.execPath, bin, 'run', join(root, 'examples', 'reflector.ts'),
      '-i', lab.dut.ifname, '--status-interval', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let ms = -1;
    const onData = (d: Buffer) => {
      out += d;
      if (ms < 0 && /afxdp: running /.test(out)) {
        ms = Number(process.hrtime.bigint() - t0) / 1e6;
        child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code) => (ms >= 0 ? resolve(ms) : reject(new Error(`run exited ${code} before running:\n${out}`))));
  });
}

function summary(xs: number[]): { median: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]! };
}

const help = new Map(bins.map((b) => [b, [] as number[]]));
const run = new Map(bins.map((b) => [b, [] as number[]]));
for (const b of bins) helpOnce(b); // warm-up (tsx's transform cache, the page cache)
for (let i = 0; i < runs; i++) for (const b of bins) help.get(b)!.push(helpOnce(b));

const lab = process.getuid?.() === 0 ? Lab.create() : null;
try {
  if (lab) {
    for (const b of bins) await runOnce(b, lab);
    for (let i = 0; i < runs; i++) for (const b of bins) run.get(b)!.push(await runOnce(b, lab));
  }
} finally {
  lab?.destroy();
}

const base = bins[0]!;
console.log(`node ${process.version}, ${runs} runs each, wall ms`);
for (const [name, m] of [['afxdp --help', help], ['afxdp run to "running"', run]] as const) {
  if (m.get(base)!.length === 0) {
    console.log(`${name}: skipped (needs root)`);
    continue;
  }
  const b0 = summary(m.get(base)!);
  for (const b of bins) {
    const s = summary(m.get(b)!);
    console.log(`${name.padEnd(24)} ${b.replace(`${root}/`, '').padEnd(24)} median ${s.median.toFixed(0).padStart(5)}  min ${s.min.toFixed(0).padStart(5)}  ratio to first ${(s.median / b0.median).toFixed(2)}`);
  }
}
