/**
 * `afxdp lab up|down|demo|traffic`: a veth pair between two network
 * namespaces (documentation addresses, offloads off) to try handlers on
 * without a NIC.
 */
import { execFileSync, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { flag, int, parse, str, type Options } from '../args.js';
import { CliError, ExitCode, usageError } from '../exit-codes.js';
import type { Lab as LabClass, LabEnd } from '../../lab.js';

export const LAB_HELP = `Usage: afxdp lab up [--queues N] [--name NAME]
       afxdp lab down [--name NAME]
       afxdp lab demo [--seconds N] [--rate PPS] [--queues N] [--handler FILE]
       afxdp lab traffic [--seconds N] [--rate PPS] [--name NAME]

A veth pair between two network namespaces, for trying handlers without a NIC:

  afxdp-NAME-dut   afx0 192.0.2.1/24 ── veth ── afx1 192.0.2.2/24   afxdp-NAME-peer

IPv6 is off, GRO/TSO/checksum offloads are off, neighbours are static.

  up       Create the lab (NAME defaults to "lab") and print how to use it.
  down     Delete it (both namespaces, and with them the veth pair).
  traffic  Send UDP frames from the peer end to the dut end of a lab that is
           up, and count the frames that come back.
  demo     Create a lab, run a handler (default examples/reflector.ts) on the
           dut end under generated traffic with its live status, then tear
           everything down.

Options:
      --queues <n>     RX/TX queues per end (default 2)
      --name <name>    Lab name (default "lab"; letters, digits, -)
      --seconds <n>    How long to send (default 5)
      --rate <pps>     Frames per second (default 0: as fast as possible)
      --handler <file> Handler for demo (default examples/reflector.ts)
  -h, --help           This help
`;

const OPTIONS: Options = {
  queues: { type: 'string' },
  name: { type: 'string' },
  seconds: { type: 'string' },
  rate: { type: 'string' },
  handler: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const binPath = fileURLToPath(new URL('../../../bin/afxdp.js', import.meta.url));

/** The Lab class, loaded when a lab command needs it. */
async function labClass(): Promise<typeof LabClass> {
  return (await import('../../lab.js')).Lab;
}

function ends(name: string): { dut: LabEnd; peer: LabEnd } {
  return {
    dut: { ns: `afxdp-${name}-dut`, ifname: 'afx0', mac: '02:00:00:00:00:01', ipv4: '192.0.2.1' },
    peer: { ns: `afxdp-${name}-peer`, ifname: 'afx1', mac: '02:00:00:00:00:02', ipv4: '192.0.2.2' },
  };
}

function namespaces(): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
  } catch {
    return [];
  }
}

/** RX queues of an interface in namespace `ns`. */
function queueCount(ns: string, ifname: string): number {
  try {
    const out = execFileSync('ip', ['netns', 'exec', ns, 'ls', `/sys/class/net/${ifname}/queues`], { encoding: 'utf8' });
    return Math.max(1, out.split(/\s+/).filter((d) => d.startsWith('rx-')).length);
  } catch {
    return 1;
  }
}

function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) {
    throw new CliError(ExitCode.Permission, `${what} needs root (it creates network namespaces and veth interfaces): run it with sudo`);
  }
}

function labName(p: ReturnType<typeof parse>): string {
  const name = str(p, 'name') ?? 'lab';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,20}$/.test(name)) throw usageError(`--name must be letters, digits and -, got '${name}'`);
  return name;
}

function describe(name: string, queues: number): string {
  const { dut, peer } = ends(name);
  return `lab '${name}' is up (${queues} queue${queues === 1 ? '' : 's'} per end):
  dut   ${dut.ns.padEnd(20)} ${dut.ifname} ${dut.mac} ${dut.ipv4}/24
  peer  ${peer.ns.padEnd(20)} ${peer.ifname} ${peer.mac} ${peer.ipv4}/24

Run a handler on the dut end:
  sudo ip netns exec ${dut.ns} npx afxdp run examples/reflector.ts --interface ${dut.ifname}
Send it traffic from the peer end (in another shell):
  sudo npx afxdp lab traffic${name === 'lab' ? '' : ` --name ${name}`} --seconds 10 --rate 10000
Or a shell in either namespace:
  sudo ip netns exec ${peer.ns} bash
Remove it with:
  sudo npx afxdp lab down${name === 'lab' ? '' : ` --name ${name}`}
`;
}

async function up(p: ReturnType<typeof parse>): Promise<number> {
  requireRoot('afxdp lab up');
  const name = labName(p);
  const queues = int(p, 'queues', 2, [1, 64])!;
  const { dut } = ends(name);
  if (namespaces().includes(dut.ns)) {
    throw new CliError(ExitCode.Busy, `lab '${name}' is already up (namespace ${dut.ns}): \`afxdp lab down${name === 'lab' ? '' : ` --name ${name}`}\` first`);
  }
  const Lab = await labClass();
  // persist: the lab outlives this command (lab.ts otherwise deletes the
  // labs a process made when it exits).
  Lab.create({ name, queues, persist: true });
  process.stdout.write(describe(name, queues));
  return ExitCode.Ok;
}

function down(p: ReturnType<typeof parse>): number {
  requireRoot('afxdp lab down');
  const name = labName(p);
  const { dut, peer } = ends(name);
  const present = namespaces();
  let removed = 0;
  for (const ns of [dut.ns, peer.ns]) {
    if (!present.includes(ns)) continue;
    execFileSync('ip', ['netns', 'del', ns]);
    removed++;
  }
  process.stdout.write(removed ? `lab '${name}' removed\n` : `no lab '${name}' to remove\n`);
  return ExitCode.Ok;
}

async function traffic(p: ReturnType<typeof parse>): Promise<number> {
  requireRoot('afxdp lab traffic');
  const name = labName(p);
  const { dut, peer } = ends(name);
  if (!namespaces().includes(peer.ns)) throw new CliError(ExitCode.NoSuchInterface, `no lab '${name}': run \`afxdp lab up\` first`);
  const { enterNetns } = await import('../../netns.js');
  const { sendTraffic } = await import('./lab-traffic.js');
  enterNetns(peer.ns);
  const seconds = int(p, 'seconds', 5, [1, 86400])!;
  const rate = int(p, 'rate', 0, [0, 100_000_000])!;
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const r = await sendTraffic({
      interface: peer.ifname, srcMac: peer.mac, dstMac: dut.mac, srcIp: peer.ipv4, dstIp: dut.ipv4,
      seconds, rate, signal: ac.signal, queues: queueCount(peer.ns, peer.ifname),
      onProgress: (sent, received) => process.stderr.write(`afxdp lab traffic: sent ${sent}, received ${received}\n`),
    });
    process.stdout.write(`sent ${r.sent} frames in ${r.seconds.toFixed(1)} s (${Math.round(r.sent / r.seconds)}/s), ${r.received} came back\n`);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
  return ExitCode.Ok;
}

async function demo(p: ReturnType<typeof parse>): Promise<number> {
  requireRoot('afxdp lab demo');
  const seconds = int(p, 'seconds', 5, [1, 3600])!;
  const rate = int(p, 'rate', 0, [0, 100_000_000])!;
  // The daemon runs with the package as its working directory: a --handler
  // given relative to where the user is must be made absolute here.
  const given = str(p, 'handler');
  const handler = given !== undefined ? resolve(given) : fileURLToPath(new URL('../../../examples/reflector.ts', import.meta.url));
  const Lab = await labClass();
  const lab = Lab.create({ name: `demo${process.pid}`, queues: int(p, 'queues', 2, [1, 64])! });
  const say = (s: string) => process.stderr.write(`afxdp lab demo: ${s}\n`);
  // Ctrl-C ends the traffic early; the lab still goes.
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    say(`lab up: ${lab.dut.ns} (${lab.dut.ifname}) <-> ${lab.peer.ns} (${lab.peer.ifname})`);
    say(`running ${handler} on ${lab.dut.ifname}; sending UDP from ${lab.peer.ifname} for ${seconds} s`);
    // The daemon's live status goes straight to this terminal.
    const child = spawn('ip', ['netns', 'exec', lab.dut.ns, process.execPath, binPath, 'run', handler,
      '--interface', lab.dut.ifname, '--status-interval', '1'], { cwd: repoRoot, stdio: ['ignore', 'inherit', 'pipe'] });
    const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? ExitCode.Failure)));
    let running = false;
    const ready = new Promise<boolean>((resolve) => {
      let buf = '';
      child.stderr!.on('data', (d: Buffer) => {
        process.stderr.write(d);
        buf += d;
        if (!running && buf.includes('afxdp: running ')) {
          running = true;
          resolve(true);
        }
      });
      void exited.then(() => resolve(false));
    });
    const readyOrStopped = await Promise.race([ready, new Promise<boolean>((r) => ac.signal.addEventListener('abort', () => r(false)))]);
    if (!readyOrStopped) {
      child.kill('SIGTERM');
      const code = await exited;
      throw new CliError(code || ExitCode.Failure, 'the handler did not start (see above)');
    }
    const { enterNetns } = await import('../../netns.js');
    const { sendTraffic } = await import('./lab-traffic.js');
    enterNetns(lab.peer.ns);
    const r = await sendTraffic({
      interface: lab.peer.ifname, srcMac: lab.peer.mac, dstMac: lab.dut.mac, srcIp: lab.peer.ipv4, dstIp: lab.dut.ipv4,
      seconds, rate, queues: lab.queues, signal: ac.signal,
    });
    child.kill('SIGTERM');
    const code = await exited;
    say(`sent ${r.sent} frames (${Math.round(r.sent / r.seconds)}/s), ${r.received} came back; daemon exited ${code}`);
    return code;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    lab.destroy();
    say('lab removed');
  }
}

export async function labCommand(argv: string[]): Promise<number> {
  const p = parse(argv, OPTIONS);
  if (flag(p, 'help')) {
    process.stdout.write(LAB_HELP);
    return ExitCode.Ok;
  }
  const [sub, ...extra] = p.positionals;
  if (extra.length) throw usageError(`unexpected argument '${extra[0]}'`);
  switch (sub) {
    case 'up':
      return up(p);
    case 'down':
      return down(p);
    case 'traffic':
      return traffic(p);
    case 'demo':
      return demo(p);
    case undefined:
      throw usageError('afxdp lab needs up, down, traffic or demo');
    default:
      throw usageError(`unknown lab command '${sub}': up, down, traffic or demo`);
  }
}
