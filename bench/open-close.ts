/**
 * What one open()/close() cycle costs, in one process on a veth lab:
 *   full: the steering program is loaded and attached, then detached, each time;
 *   kept: another port holds the program attached, so a cycle is the UMEM
 *         and the socket alone (default 16 MiB UMEM, then a 1 MiB one).
 * Prints ms per cycle and the fds / RSS before and after each series.
 * Usage (root): node --import tsx bench/open-close.ts [cycles=200]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Lab, enterNetns, open, type OpenOptions, type Port } from '../ts/index.js';
import { AfxdpError } from '../ts/errors.js';

const cycles = Number(process.argv[2] ?? 200);
const fds = () => readdirSync('/proc/self/fd').length;
const rssMiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'utf8'))![1]) / 1024;

/** The kernel frees a closed socket's queue from a workqueue: retry EBUSY. */
async function openRetrying(options: OpenOptions): Promise<Port> {
  for (;;) {
    try {
      return await open(options);
    } catch (err) {
      if (!(err instanceof AfxdpError) || err.code !== 'ERR_QUEUE_BUSY') throw err;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }
}

async function series(name: string, n: number, options: (i: number) => OpenOptions): Promise<void> {
  const [fds0, rss0] = [fds(), rssMiB()];
  const started = performance.now();
  for (let i = 0; i < n; i++) await (await openRetrying(options(i))).close();
  const ms = (performance.now() - started) / n;
  console.log(`| ${name} | ${n} | ${ms.toFixed(1)} | ${fds0} -> ${fds()} | ${rss0.toFixed(0)} -> ${rssMiB().toFixed(0)} |`);
}

const lab = Lab.create({ name: `oc-${process.pid}`, queues: 8 });
try {
  enterNetns(lab.dut.ns);
  const ifname = lab.dut.ifname;
  await (await open({ interface: ifname })).close(); // warm up
  console.log('| cycle | cycles | ms/cycle | fds | RSS MiB |');
  console.log('|---|---|---|---|---|');
  await series('full (program attached/detached), 16 MiB UMEM', Math.max(1, Math.round(cycles / 20)), () => ({ interface: ifname }));
  const holder = await open({ interface: ifname, queue: 0 });
  try {
    await series('program kept, 16 MiB UMEM', cycles, (i) => ({ interface: ifname, queue: 1 + (i % 7) }));
    await series('program kept, 1 MiB UMEM', cycles, (i) => ({ interface: ifname, queue: 1 + (i % 7), frames: 256 }));
  } finally {
    await holder.close();
  }
} finally {
  lab.destroy();
}
