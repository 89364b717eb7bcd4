/**
 * Soak test of the daemon (issue 10), not part of CI: `npm run soak`.
 *
 * A veth lab; `afxdp run examples/reflector.ts` on the dut end; the lab's
 * AF_XDP traffic source (ts/cli/commands/lab-traffic.ts) sending as fast as
 * it can from the peer end and counting the reflected frames. A reload
 * (SIGHUP) every --reload-every seconds, a link flap (peer end down 2 s,
 * up) every --flap-every seconds. Every --sample-every seconds one row: the
 * daemon's RSS and open fds, the generator's and the daemon's frame counts,
 * the UMEM frames accounted for, event-loop lag, lifecycle state.
 *
 *   npm run soak                       # 30 minutes
 *   npm run soak -- --duration 180     # 3 minutes
 *
 * Needs root (namespaces, XDP, AF_XDP). Prints a Markdown table.
 */
import { spawn, execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, enterNetns } from '../ts/index.js';
import { sendTraffic } from '../ts/cli/commands/lab-traffic.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '1800' },
    'reload-every': { type: 'string', default: '60' },
    'flap-every': { type: 'string', default: '300' },
    'sample-every': { type: 'string', default: '10' },
  },
});
const duration = Number(values.duration);
const reloadEvery = Number(values['reload-every']);
const flapEvery = Number(values['flap-every']);
const sampleEvery = Number(values['sample-every']);

function metrics(ns: string, url: string): Map<string, number> {
  const out = new Map<string, number>();
  let text = '';
  try {
    text = execFileSync('ip', ['netns', 'exec', ns, 'curl', '-sf', '--max-time', '2', url], { encoding: 'utf8' });
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const m = /^([a-z0-9_]+)(\{[^}]*\})? ([-0-9.e+]+|NaN)$/.exec(line);
    if (!m) continue;
    const key = m[1]! + (m[1] === 'afxdp_state' ? m[2] : '');
    out.set(key, (out.get(key) ?? 0) + Number(m[3]));
  }
  return out;
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

function fds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the soak needs root (namespaces, XDP, AF_XDP)');
  const lab = Lab.create({ queues: 1 });
  const daemon = spawn('ip', ['netns', 'exec', lab.dut.ns, process.execPath, join(root, 'bin', 'afxdp.js'), 'run', join(root, 'examples', 'reflector.ts'),
    '-i', lab.dut.ifname, '--metrics', '0', '--status-interval', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  daemon.stderr!.on('data', (d) => (log += d));
  const stopAll = async () => {
    if (daemon.exitCode === null) daemon.kill('SIGTERM');
    await new Promise((r) => (daemon.exitCode === null ? daemon.once('close', r) : r(null)));
    lab.destroy();
  };
  try {
    const t0 = performance.now();
    while (!/metrics at (http:\/\/\S+)/.test(log)) {
      if (daemon.exitCode !== null || performance.now() - t0 > 60_000) throw new Error(`the daemon did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const url = /metrics at (http:\/\/\S+)/.exec(log)![1]!;
    const pid = daemon.pid!; // `ip netns exec` execs node: the same pid

    enterNetns(lab.peer.ns);
    const gen = { sent: 0, received: 0 };
    const ac = new AbortController();
    const traffic = sendTraffic({
      interface: lab.peer.ifname, srcMac: lab.peer.mac, dstMac: lab.dut.mac, srcIp: lab.peer.ipv4, dstIp: lab.dut.ipv4,
      seconds: duration + 5, rate: 0, signal: ac.signal,
      onProgress: (sent, received) => Object.assign(gen, { sent, received }),
    });

    const header = '| t (s) | state | RSS (MiB) | fds | gen sent | gen received | daemon rx | daemon tx | dropped | XDP steered | XDP rx dropped | XDP rx ring full | fill ring empty | UMEM frames accounted | lag p99 (ms) | generation |';
    process.stdout.write(`${header}\n|${'---|'.repeat(16)}\n`);
    const start = performance.now();
    let nextReload = reloadEvery;
    let nextFlap = flapEvery;
    let flaps = 0;
    for (let t = sampleEvery; t <= duration; t += sampleEvery) {
      while ((performance.now() - start) / 1000 < t) {
        const now = (performance.now() - start) / 1000;
        if (now >= nextReload) {
          nextReload += reloadEvery;
          daemon.kill('SIGHUP');
        }
        if (now >= nextFlap) {
          nextFlap += flapEvery;
          flaps++;
          execFileSync('ip', ['-n', lab.peer.ns, 'link', 'set', lab.peer.ifname, 'down']);
          await new Promise((r) => setTimeout(r, 2000));
          execFileSync('ip', ['-n', lab.peer.ns, 'link', 'set', lab.peer.ifname, 'up']);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      if (daemon.exitCode !== null) throw new Error(`the daemon exited (${daemon.exitCode}):\n${log}`);
      const m = metrics(lab.dut.ns, url);
      const state = [...m].find(([k, v]) => k.startsWith('afxdp_state{') && v === 1)?.[0].replace(/^afxdp_state\{state="(\w+)"\}$/, '$1') ?? '?';
      const row = [t, state, rssMiB(pid).toFixed(1), fds(pid), gen.sent, gen.received,
        m.get('afxdp_rx_packets_total') ?? '?', m.get('afxdp_tx_packets_total') ?? '?', m.get('afxdp_dropped_packets_total') ?? '?',
        m.get('afxdp_xdp_steered_packets_total') ?? '?', m.get('afxdp_xdp_rx_dropped_total') ?? '?',
        m.get('afxdp_xdp_rx_ring_full_total') ?? '?', m.get('afxdp_xdp_rx_fill_ring_empty_descs_total') ?? '?', m.get('afxdp_frames') ?? '?',
        ((m.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000).toFixed(1), m.get('afxdp_handler_generation') ?? '?'];
      const line = `| ${row.join(' | ')} |`;
      process.stdout.write(`${line}\n`);
    }
    ac.abort();
    const result = await traffic;
    process.stdout.write(`\nduration ${duration} s, reload every ${reloadEvery} s, link flap every ${flapEvery} s (${flaps} flaps); ` +
      `generator sent ${result.sent}, received ${result.received} back\n`);
    const reloads = (log.match(/handler reloaded on/g) ?? []).length;
    const failed = (log.match(/error:/g) ?? []).length;
    process.stdout.write(`daemon log: ${reloads} reloads, ${failed} error lines, ${(log.match(/link down/g) ?? []).length} link down, ${(log.match(/link up/g) ?? []).length} link up\n`);
  } finally {
    await stopAll();
  }
}

main().catch((err) => {
  process.stderr.write(`soak: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
