/**
 * `afxdp bench <handler>`: frames per second and CPU time per packet of a
 * handler module on a lab veth pair under the XDP live-frame generator,
 * next to the native ceiling (a Rust consumer of the same rings), as
 * `npm run bench` measures the built-in handlers.
 */
import { cpus, release } from 'node:os';
import { flag, int, oneOf, parse, type Options } from '../args.js';
import { CliError, ExitCode, oneLine, usageError } from '../exit-codes.js';
import { handlerPath, loadHandlerModule } from '../../handler/module.js';
import type { HandlerContext } from '../../handler/context.js';

export const BENCH_HELP = `Usage: afxdp bench <handler> [--seconds N] [--rounds N] [--native drop|swap-mac-tx] [--json]

Measures a handler module on a veth lab (created and removed by the command;
needs root) under the XDP live-frame generator: 64-byte UDP frames from the
peer end. Windows alternate between the handler and the native ceiling (a
Rust consumer on the same port doing --native work), and the medians are
reported: frames per second and CPU nanoseconds per packet of the consuming
thread. veth runs in copy mode: real NICs with zero-copy go faster.

Options:
      --seconds <n>   Length of each measuring window (default 2)
      --rounds <n>    Windows per side (default 3)
      --native <w>    Work of the native ceiling: drop (default) or swap-mac-tx
      --json          Print the result as JSON
  -h, --help          This help
`;

const OPTIONS: Options = {
  seconds: { type: 'string' },
  rounds: { type: 'string' },
  native: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};


export async function benchCommand(argv: string[]): Promise<number> {
  const p = parse(argv, OPTIONS);
  if (flag(p, 'help')) {
    process.stdout.write(BENCH_HELP);
    return ExitCode.Ok;
  }
  if (p.positionals.length !== 1) throw usageError('afxdp bench <handler>');
  const seconds = int(p, 'seconds', 2, [1, 600])!;
  const rounds = int(p, 'rounds', 3, [1, 100])!;
  const work = oneOf(p, 'native', ['drop', 'swap-mac-tx'] as const, 'drop');
  const path = handlerPath(p.positionals[0]!);
  if (process.getuid?.() !== 0) throw new CliError(ExitCode.Permission, 'afxdp bench needs root (it creates a veth lab): run it with sudo');
  const mod = await loadHandlerModule<HandlerContext>(path);

  const { Lab, enterNetns, open } = await import('../../index.js');
  const { benchChunkMs, benchFrame, compare, startTraffic } = await import('../../bench.js');
  const lab = Lab.create({ name: `bench-${process.pid}` });
  try {
    enterNetns(lab.dut.ns);
    const port = await open({ interface: lab.dut.ifname, batchSize: 64 });
    try {
      try {
        await mod.setup?.({ queue: 0, interfaces: [port.interface], ports: { [port.interface]: port }, generation: 0, log: (m) => process.stderr.write(`afxdp bench: ${m}\n`) });
      } catch (err) {
        throw new CliError(ExitCode.HandlerLoad, `handler ${path}: setup() threw: ${oneLine(String((err as Error)?.message ?? err))}`);
      }
      const traffic = startTraffic({ netns: lab.peer.ns, interface: lab.peer.ifname, frame: benchFrame(lab.dut.mac, lab.peer.mac), chunkMs: benchChunkMs() }, (rounds + 1) * 2 * seconds + 10);
      let result;
      try {
        process.stderr.write(`afxdp bench: ${rounds} x ${seconds} s windows each for the handler and the native ceiling...\n`);
        result = await compare(port, mod.handler, work, { rounds, windowMs: seconds * 1000 });
      } finally {
        traffic.stop();
      }
      const sent = await traffic.done();
      const stats = port.stats();
      await mod.teardown?.();
      const offered = sent.frames / sent.seconds;
      if (flag(p, 'json')) {
        process.stdout.write(`${JSON.stringify({ handlerFile: path, nativeWork: work, offeredFps: offered, attachMode: stats.attachMode, zeroCopy: stats.zeroCopy, handlerErrors: stats.handlerErrors, ...result })}\n`);
      } else {
        const mpps = (x: number) => `${(x / 1e6).toFixed(3)} Mpps`;
        process.stdout.write([
          `machine:   ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Linux ${release()}, Node ${process.version}`,
          `offered:   ${mpps(offered)} (64-byte UDP, XDP live frames from the peer namespace)`,
          `port:      veth ${stats.attachMode}, ${stats.zeroCopy ? 'zero-copy' : 'copy mode'}, batch 64`,
          `handler:   ${mpps(result.handlerFps)}  ${result.handlerCpuNsPerPacket.toFixed(1)} CPU ns/packet  (${path})`,
          `native:    ${mpps(result.nativeFps)}  ${result.nativeCpuNsPerPacket.toFixed(1)} CPU ns/packet  (Rust ${work})`,
          `ratio:     ${(result.ratio * 100).toFixed(1)}% of the native ceiling${stats.handlerErrors ? `; ${stats.handlerErrors} handler errors!` : ''}`,
          '',
        ].join('\n'));
      }
    } finally {
      await port.close();
    }
  } finally {
    lab.destroy();
  }
  return ExitCode.Ok;
}
