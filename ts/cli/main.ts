/**
 * The afxdp command: dispatch to a subcommand, turn every failure into one
 * line on stderr and a distinct exit code.
 */
import { readFileSync } from 'node:fs';
import { CliError, ExitCode, describeError } from './exit-codes.js';
import { reapStaleState } from '../daemon/state-file.js';

export const MAIN_HELP = `Usage: afxdp <command> [options]

Packet handlers in TypeScript at AF_XDP speed.

Commands:
  run <handler> -i <if>     Run a handler as a daemon (worker per queue, live
                            status, metrics, reload on SIGHUP)
  doctor -i <if>            What this host and interface support, and what to change
  status                    afxdp programs and daemons on this host, with counters
  block|unblock <prefix>    Add to / remove from a running daemon's kernel drop
                            list (dropped in XDP); \`blocked\` lists it
  lab up|down|traffic|demo  A veth pair between two namespaces to try handlers on
  replay <handler> --in f   Run a handler offline over a pcap/pcapng capture
  bench <handler>           Frames per second of a handler on a lab pair

Run \`afxdp <command> --help\` for a command's options.

Exit codes:
  0  success            4  no such interface or queue
  1  other failure      5  interface or queue busy (another XDP program/socket)
  2  usage error        6  not permitted (root, capabilities, RLIMIT_MEMLOCK)
  3  handler module     7  unsupported by the interface (mode, zero-copy, MTU)
     failed to load
`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  block: async () => (argv) => import('./commands/block.js').then((m) => m.controlCommand('block', argv)),
  unblock: async () => (argv) => import('./commands/block.js').then((m) => m.controlCommand('unblock', argv)),
  blocked: async () => (argv) => import('./commands/block.js').then((m) => m.controlCommand('blocked', argv)),
  lab: async () => (await import('./commands/lab.js')).labCommand,
  replay: async () => (await import('./commands/replay.js')).replayCommand,
  bench: async () => (await import('./commands/bench.js')).benchCommand,
};

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

/** Run the CLI with `argv` (without node and the script); resolves with the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    if (name === 'help' && rest[0] && commands[rest[0]]) return main([rest[0], '--help']);
    (name === undefined ? process.stderr : process.stdout).write(MAIN_HELP);
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  if (name === '-v' || name === '--version') {
    process.stdout.write(`afxdp ${version()}\n`);
    return ExitCode.Ok;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`afxdp: unknown command '${name}': commands are ${Object.keys(commands).join(', ')} (see afxdp --help)\n`);
    return ExitCode.Usage;
  }
  // Files of daemons that died without cleaning up (SIGKILL) go first, so
  // no command trips over them; a user who may not remove them leaves them.
  reapStaleState();
  try {
    const command = await load();
    return await command(rest);
  } catch (err) {
    const d = describeError(err);
    process.stderr.write(`afxdp ${name}: ${d.message}\n`);
    if (process.env.AFXDP_DEBUG && !(err instanceof CliError)) console.error(err);
    return d.exitCode;
  }
}
