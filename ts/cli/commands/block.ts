/**
 * `afxdp block|unblock|blocked`: the client side of a running daemon's
 * control socket (ts/daemon/control.ts serves it).
 */
import { connect } from 'node:net';
import { flag, parse, str, strs, type Options } from '../args.js';
import { CliError, ExitCode, usageError } from '../exit-codes.js';
import type { ControlRequest } from '../../daemon/protocol.js';
import { controlSocketPath, type ControlReply } from '../../daemon/control.js';
import { netnsId, readStates, reapStaleState, STATE_DIR, type DaemonState } from '../../daemon/state-file.js';
import type { BlockEntry } from '../../steering.js';

/** Send one request to a daemon's control socket; resolves with its reply. */
export function request(path: string, req: ControlRequest, timeoutMs = 5000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buffer = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new CliError(ExitCode.Failure, `the daemon did not answer on ${path} within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      const nl = buffer.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      sock.end();
      try {
        resolve(JSON.parse(buffer.slice(0, nl)) as ControlReply);
      } catch (err) {
        reject(new CliError(ExitCode.Failure, `bad reply from the daemon: ${(err as Error).message}`));
      }
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'EACCES' || err.code === 'EPERM') {
        reject(new CliError(ExitCode.Permission, `cannot talk to the daemon on ${path}: permission denied: run as root (the socket is 0600)`));
      } else if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new CliError(ExitCode.NoSuchInterface, `the daemon has no control socket at ${path} (it is stopping, or could not create it: see its log)`));
      } else {
        reject(new CliError(ExitCode.Failure, `cannot talk to the daemon on ${path}: ${err.message}`));
      }
    });
  });
}

const CONTROL_OPTIONS: Options = {
  interface: { type: 'string', short: 'i', multiple: true },
  ttl: { type: 'string' },
  pid: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export const BLOCK_HELP = `Usage: afxdp block <prefix>... [--ttl S] [-i <name>...] [--pid P]
       afxdp unblock <prefix>... [-i <name>...] [--pid P]
       afxdp blocked [-i <name>...] [--pid P] [--json]

Change or list the kernel drop list of a running \`afxdp run\` daemon: frames
from a blocked source prefix (198.51.100.0/24, 2001:db8::/32, or one address)
are dropped in XDP, before they reach the handler, with a counter per entry.
Talks to the daemon through its control socket, /run/afxdp/<pid>.sock.

Options:
  -i, --interface <name>    Interface (repeat for several; default: every
                            interface of the daemon)
      --ttl <s>             block: seconds until the entry expires (default: never)
      --pid <pid>           The daemon to talk to (default: the one serving the
                            interface in this network namespace: run under
                            \`ip netns exec NS\` for a daemon in a namespace)
      --json                blocked: print JSON
  -h, --help                This help

Exit codes: 2 bad prefix or option, 4 no such daemon or interface, 6 not root.
`;

/** The daemon a control command talks to, and the interfaces it names. */
function target(pidText: string | undefined, interfaces: string[]): { daemon: DaemonState; interfaces: string[] } {
  const { denied } = reapStaleState();
  const states = readStates();
  let candidates: DaemonState[];
  if (pidText !== undefined) {
    const pid = Number(pidText);
    if (!Number.isInteger(pid) || pid <= 0) throw usageError(`--pid must be a process id, got '${pidText}'`);
    candidates = states.filter((s) => s.pid === pid);
    if (candidates.length === 0 && denied.includes(pid)) {
      throw new CliError(ExitCode.Permission, `no afxdp daemon with pid ${pid} is running, and its stale files in ${STATE_DIR} may not be removed by this user: run afxdp as root (the next afxdp command run as root removes them)`);
    }
    if (candidates.length === 0) throw new CliError(ExitCode.NoSuchInterface, `no afxdp daemon with pid ${pid} (see \`afxdp status\`)`);
  } else {
    const here = netnsId();
    candidates = states.filter((s) => s.netns === here && interfaces.every((i) => s.interfaces.includes(i)));
    if (candidates.length === 0) {
      const what = interfaces.length ? `serving ${interfaces.join(', ')}` : '';
      throw new CliError(ExitCode.NoSuchInterface, `no afxdp daemon ${what}${what ? ' ' : ''}in this network namespace: ` +
        'see `afxdp status`; run under `ip netns exec NS` for a daemon in a namespace, or pass --pid');
    }
    if (candidates.length > 1) throw usageError(`several afxdp daemons match (pids ${candidates.map((s) => s.pid).join(', ')}): choose one with --pid`);
  }
  const daemon = candidates[0]!;
  for (const i of interfaces) {
    if (!daemon.interfaces.includes(i)) throw new CliError(ExitCode.NoSuchInterface, `daemon ${daemon.pid} does not serve '${i}' (it serves ${daemon.interfaces.join(', ')})`);
  }
  return { daemon, interfaces: interfaces.length ? interfaces : daemon.interfaces };
}

async function send(path: string, req: ControlRequest): Promise<unknown> {
  const reply = await request(path, req);
  if (!reply.ok) throw new CliError(reply.exitCode ?? ExitCode.Failure, `${req.interface}: ${reply.error ?? 'failed'}`);
  return reply.result;
}

/** `afxdp block`, `afxdp unblock`, `afxdp blocked`. Resolves with the exit code. */
export async function controlCommand(op: 'block' | 'unblock' | 'blocked', argv: string[]): Promise<number> {
  const p = parse(argv, CONTROL_OPTIONS);
  if (flag(p, 'help')) {
    process.stdout.write(BLOCK_HELP);
    return ExitCode.Ok;
  }
  const prefixes = p.positionals;
  if (op === 'blocked' && prefixes.length) throw usageError('afxdp blocked takes no prefix');
  if (op !== 'blocked' && prefixes.length === 0) throw usageError(`missing the prefix: afxdp ${op} <prefix> (198.51.100.0/24, 2001:db8::/32, an address)`);
  const ttlText = str(p, 'ttl');
  if (ttlText !== undefined && op !== 'block') throw usageError('--ttl is for afxdp block');
  let ttl: number | undefined;
  if (ttlText !== undefined) {
    ttl = Number(ttlText);
    if (!(ttl > 0 && Number.isFinite(ttl))) throw usageError(`--ttl must be a positive number of seconds, got '${ttlText}'`);
  }
  if (flag(p, 'json') && op !== 'blocked') throw usageError('--json is for afxdp blocked');
  const { daemon, interfaces } = target(str(p, 'pid'), strs(p, 'interface'));
  const path = controlSocketPath(daemon.pid);
  if (op === 'blocked') {
    const lists: Record<string, BlockEntry[]> = {};
    for (const ifname of interfaces) lists[ifname] = await send(path, { op, interface: ifname }) as BlockEntry[];
    if (flag(p, 'json')) {
      process.stdout.write(`${JSON.stringify(lists, null, 1)}\n`);
      return ExitCode.Ok;
    }
    for (const [ifname, list] of Object.entries(lists)) {
      if (list.length === 0) process.stdout.write(`${ifname}: drop list empty\n`);
      for (const e of list) {
        const expires = e.expiresIn === null ? 'never' : `${e.expiresIn.toFixed(1)}s`;
        process.stdout.write(`${ifname} ${e.prefix} packets=${e.packets} bytes=${e.bytes} expires_in=${expires}\n`);
      }
    }
    return ExitCode.Ok;
  }
  for (const ifname of interfaces) {
    for (const prefix of prefixes) {
      if (op === 'block') {
        await send(path, ttl === undefined ? { op, interface: ifname, prefix } : { op, interface: ifname, prefix, ttl });
        process.stdout.write(`blocked ${prefix} on ${ifname}${ttl === undefined ? '' : ` for ${ttl} s`} (daemon ${daemon.pid})\n`);
      } else {
        const removed = await send(path, { op, interface: ifname, prefix });
        process.stdout.write(removed ? `unblocked ${prefix} on ${ifname} (daemon ${daemon.pid})\n` : `${prefix} was not blocked on ${ifname}\n`);
      }
    }
  }
  return ExitCode.Ok;
}
