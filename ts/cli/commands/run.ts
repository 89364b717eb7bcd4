/**
 * `afxdp run`: the daemon. One worker thread per queue; each opens that
 * queue on every interface (one shared UMEM) and runs the handler module.
 * This file parses the options and wires the daemon's parts together
 * (ts/daemon/: supervisor, signals, reload queue, file watch, link monitor,
 * status ticker, metrics, control socket, state file).
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { flag, int, interfaceExists, oneOf, parse, parseListen, parseQueues, rxQueueCount, str, strs, type Options, type Parsed } from '../args.js';
import { CliError, ExitCode, describeError, usageError } from '../exit-codes.js';
import { handlerPath } from '../../handler/module.js';
import { createMetrics, serveMetrics } from '../../daemon/metrics.js';
import type { WorkerConfig } from '../../daemon/protocol.js';
import { LiveBlock } from '../../daemon/status-view.js';
import { StateFile } from '../../daemon/state-file.js';
import { closeControl, serveControl } from '../../daemon/control.js';
import { Supervisor } from '../../daemon/supervisor.js';
import { catchSignals } from '../../daemon/signals.js';
import { ReloadQueue } from '../../daemon/reload-queue.js';
import { watchHandlerFile } from '../../daemon/file-watch.js';
import { LinkMonitor } from '../../daemon/link-monitor.js';
import { waitForInterfaces } from '../../daemon/wait-interface.js';
import { StatusTicker, printTotals } from '../../daemon/status-ticker.js';
import { Capture, type CaptureOptions } from '../../capture/index.js';
import { CAPTURE_HELP, CAPTURE_OPTIONS, parseCaptureArgs } from '../capture-args.js';
import { reachabilityWarnings, steerRuleSet, SteerSyntaxError, type RuleSet } from '../../steer/index.js';

export const RUN_HELP = `Usage: afxdp run <handler.ts|.js> --interface <name> [options]

Run a packet handler as a daemon: one worker thread per queue, until SIGINT
or SIGTERM. The handler module's default export is handler(packet) => Verdict;
optional named exports setup(ctx) and teardown() run once per worker.

Options:
  -i, --interface <name>    Interface to serve (repeat for several; a handler
                            forwards between them via ctx.ports in setup)
      --queues <list>       all (default), 0,1 or 0-3
      --mode <m>            XDP attach mode: auto (default), native, skb
      --zero-copy <z>       auto (default), on, off
      --frame-size <n>      UMEM frame size: 2048 or 4096 (default 4096)
      --frames <n>          UMEM frames per worker, a power of two (default 4096)
      --batch-size <n>      Most frames per handler batch (default 64)
      --ring-size <n>       RX/TX ring size (default 2048)
      --busy-poll           Busy polling: the workers' syscalls run the
                            device's receive processing (SO_PREFER_BUSY_POLL)
      --spin-micros <n>     Low-latency mode: re-poll an empty ring for up to
                            n microseconds before sleeping (costs a busy core)
      --steer <expr>        Only frames matching the tcpdump-like expression
                            reach the handler (e.g. 'udp dst port 53'); the
                            rest stays with the kernel stack. Default: all.
                            Applies to every --interface.
${CAPTURE_HELP}      --metrics [host:]port Serve Prometheus metrics at http://host:port/metrics
                            (host defaults to 127.0.0.1)
      --metrics-public      Allow a --metrics host that is not loopback (the
                            metrics have no authentication)
      --stall-timeout <s>   A worker whose handler has not returned for this
                            long is reported and restarted (default 1)
      --max-restarts <n>    Restarts of one queue's worker within a minute
                            before the daemon gives up, exit 1 (default 3)
      --reload-timeout <s>  A reload whose import, setup() or teardown() has not
                            settled by then is abandoned; the old handler keeps
                            running (default 10)
      --wait-for-interface  At the start, wait for a missing interface instead of
                            exiting 4 (one deleted while running still exits 4)
      --config <file>       JSON file with any of these options (flags win)
      --watch               Reload the handler when its file changes
      --status-interval <s> Seconds between status log lines when stdout is not
                            a terminal (default 10; 0 = only at exit)
  -q, --quiet               No live status or status lines (errors still go to stderr)
  -h, --help                This help

Signals: SIGINT/SIGTERM stop within a second, stuck handler or not (exit 0,
or 1 if a worker was stalled or crashed and not restarted); SIGHUP reloads
the handler module without closing sockets (a module that fails keeps the
old one). An interface deleted while running: exit 4 (see docs/cli.md).
Drop list at runtime: afxdp block|unblock|blocked (see afxdp block --help).
Exit codes: see \`afxdp --help\`.
`;

const RUN_OPTIONS: Options = {
  interface: { type: 'string', short: 'i', multiple: true },
  queues: { type: 'string' },
  mode: { type: 'string' },
  'zero-copy': { type: 'string' },
  'frame-size': { type: 'string' },
  frames: { type: 'string' },
  'batch-size': { type: 'string' },
  'ring-size': { type: 'string' },
  'busy-poll': { type: 'boolean' },
  'spin-micros': { type: 'string' },
  steer: { type: 'string' },
  ...CAPTURE_OPTIONS,
  metrics: { type: 'string' },
  'metrics-public': { type: 'boolean' },
  'stall-timeout': { type: 'string' },
  'max-restarts': { type: 'string' },
  'reload-timeout': { type: 'string' },
  'wait-for-interface': { type: 'boolean' },
  config: { type: 'string' },
  watch: { type: 'boolean' },
  'status-interval': { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
};

export interface RunSettings {
  handler: string;
  interfaces: string[];
  /** As given: all, 0,1 or 0-3. */
  queueSpec: string;
  /** Resolved against the interfaces (filled in before the workers start). */
  queues: number[];
  open: WorkerConfig['open'];
  /** --steer, parsed: the rule set every interface gets. */
  steer?: RuleSet;
  /** --steer as given (for the log). */
  steerText?: string;
  metrics?: { host: string; port: number };
  /** --capture and its options. */
  capture?: CaptureOptions;
  watch: boolean;
  quiet: boolean;
  statusInterval: number;
  /** Seconds a handler may run without returning before its worker is restarted. */
  stallTimeout: number;
  /** Seconds a reload's import, setup() or teardown() may take. */
  reloadTimeout: number;
  /** Restarts of one queue within RESTART_WINDOW_MS before the daemon exits. */
  maxRestarts: number;
  /** Wait for missing interfaces at the start instead of exiting 4. */
  waitForInterface: boolean;
}

/** The window of --max-restarts. */
const RESTART_WINDOW_MS = 60_000;

/** A positive number of seconds (fractions allowed) from option `name`. */
function secondsOption(p: Parsed, name: string, fallback: number): number {
  const text = str(p, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > 3600) throw usageError(`--${name} must be a number of seconds above 0 (e.g. 0.5), got '${text}'`);
  return n;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Turn a --config JSON object into argv so the same parser validates it. */
function configArgs(file: string): string[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw usageError(`--config ${file}: ${(err as Error).message}`);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw usageError(`--config ${file}: expected a JSON object`);
  const argv: string[] = [];
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) {
    if (k === 'handler') continue;
    const spec = RUN_OPTIONS[k];
    if (!spec || k === 'config' || k === 'help') throw usageError(`--config ${file}: unknown option '${k}'`);
    if (spec.type === 'boolean') {
      if (v === true) argv.push(`--${k}`);
    } else if (k === 'steer' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      argv.push('--steer', JSON.stringify(v)); // a rule set, as JSON
    } else {
      for (const item of Array.isArray(v) ? v : [v]) argv.push(`--${k}`, String(item));
    }
  }
  const handler = (data as { handler?: unknown }).handler;
  if (typeof handler === 'string') argv.push(handler);
  return argv;
}

export function parseRunArgs(argv: string[]): RunSettings | 'help' {
  let p = parse(argv, RUN_OPTIONS);
  if (flag(p, 'help')) return 'help';
  const configFile = str(p, 'config');
  if (configFile) {
    const fromFile = parse(configArgs(configFile), RUN_OPTIONS);
    // Flags given on the command line win over the file.
    const merged = { ...fromFile.values };
    for (const [k, v] of Object.entries(p.values)) if (v !== undefined) merged[k] = v;
    p = { values: merged, positionals: p.positionals.length ? p.positionals : fromFile.positionals };
  }
  if (p.positionals.length !== 1) throw usageError(p.positionals.length ? `one handler file expected, got ${p.positionals.length}` : 'missing the handler file: afxdp run <handler.ts> --interface <name>');
  const interfaces = strs(p, 'interface');
  if (interfaces.length === 0) throw usageError('missing --interface <name>');
  if (new Set(interfaces).size !== interfaces.length) throw usageError('an --interface is given twice');
  const frameSize = int(p, 'frame-size');
  if (frameSize !== undefined && frameSize !== 2048 && frameSize !== 4096) throw usageError(`--frame-size must be 2048 or 4096, got ${frameSize}`);
  const zc = oneOf(p, 'zero-copy', ['auto', 'on', 'off'] as const, 'auto');
  const open: WorkerConfig['open'] = {
    mode: oneOf(p, 'mode', ['auto', 'native', 'skb'] as const, 'auto'),
    zeroCopy: zc === 'auto' ? 'auto' : zc === 'on',
  };
  if (frameSize !== undefined) open.frameSize = frameSize as 2048 | 4096;
  const frames = int(p, 'frames');
  if (frames !== undefined) open.frames = frames;
  const batchSize = int(p, 'batch-size', undefined, [1, 1024]);
  if (batchSize !== undefined) open.batchSize = batchSize;
  const ringSize = int(p, 'ring-size');
  if (ringSize !== undefined) open.ringSize = ringSize;
  if (flag(p, 'busy-poll')) open.busyPoll = true;
  const spinMicros = int(p, 'spin-micros', undefined, [0, 1_000_000]);
  if (spinMicros) open.spinMicros = spinMicros;
  const settings: RunSettings = {
    handler: p.positionals[0]!,
    interfaces,
    queueSpec: str(p, 'queues') ?? 'all',
    queues: [],
    open,
    watch: flag(p, 'watch'),
    quiet: flag(p, 'quiet'),
    statusInterval: int(p, 'status-interval', 10, [0, 86400])!,
    stallTimeout: secondsOption(p, 'stall-timeout', 1),
    reloadTimeout: secondsOption(p, 'reload-timeout', 10),
    maxRestarts: int(p, 'max-restarts', 3, [0, 1000])!,
    waitForInterface: flag(p, 'wait-for-interface'),
  };
  const metrics = str(p, 'metrics');
  if (metrics !== undefined) {
    settings.metrics = parseListen(metrics);
    if (!isLoopback(settings.metrics.host) && !flag(p, 'metrics-public')) {
      throw usageError(`--metrics ${metrics} serves the metrics beyond this host (no authentication): add --metrics-public if that is meant, or use 127.0.0.1:${settings.metrics.port}`);
    }
  }
  const capture = parseCaptureArgs(p, process.stdout.isTTY === true);
  if (capture) settings.capture = capture;
  const steer = str(p, 'steer');
  if (steer !== undefined) {
    settings.steer = parseSteerOption(steer);
    settings.steerText = steer;
  }
  return settings;
}

/**
 * `--steer`: a tcpdump-like expression (matching frames steered to the
 * handler, the rest passed to the kernel), or a rule set as JSON (from
 * `"steer": {...}` in --config). A syntax error is a usage error whose
 * message shows the expression with a caret under the bad token.
 */
export function parseSteerOption(text: string): RuleSet {
  if (text.trimStart().startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw usageError(`--steer: a rule set must be valid JSON: ${(err as Error).message}`);
    }
    const r = data as Partial<RuleSet>;
    if (!Array.isArray(r.rules) || !r.rules.every((x) => x && typeof x === 'object' && x.match && typeof x.match === 'object' && ['steer', 'pass', 'drop'].includes(x.action))) {
      throw usageError('--steer: a rule set is {"rules": [{"match": {...}, "action": "steer|pass|drop", "name"?: "..."}], "default": "pass"}');
    }
    if (r.default !== undefined && !['steer', 'pass', 'drop'].includes(r.default)) throw usageError(`--steer: "default" must be steer, pass or drop`);
    return { rules: r.rules, default: r.default ?? 'pass' };
  }
  try {
    return steerRuleSet(text);
  } catch (err) {
    if (err instanceof SteerSyntaxError) {
      const [first, ...rest] = err.message.split('\n');
      throw new CliError(ExitCode.Usage, `--steer: ${first} (see --help)\n${rest.join('\n')}`);
    }
    throw err;
  }
}

/** Resolve queue lists and check interfaces before any worker starts. */
function resolveTargets(settings: RunSettings): void {
  for (const ifname of settings.interfaces) {
    if (!interfaceExists(ifname)) {
      throw new CliError(ExitCode.NoSuchInterface, `no interface '${ifname}' in this network namespace: check the name with \`ip link\`; for a lab, run inside its namespace (\`ip netns exec afxdp-lab-dut afxdp run ...\`)`);
    }
  }
  const counts = settings.interfaces.map(rxQueueCount);
  const available = Math.min(...counts);
  const queues = parseQueues(settings.queueSpec, available);
  for (const q of queues) {
    const i = counts.findIndex((c) => q >= c);
    if (i >= 0) {
      throw new CliError(ExitCode.NoSuchInterface, `${settings.interfaces[i]} has no queue ${q} (it has ${counts[i]}): pick queues it has (\`ethtool -l ${settings.interfaces[i]}\`), or use --queues all`);
    }
  }
  if (queues.length === 0) throw usageError('--queues selects no queue');
  settings.queues = queues;
}

/** The `run` command. Resolves with the exit code. */
export async function runCommand(argv: string[]): Promise<number> {
  const parsed = parseRunArgs(argv);
  if (parsed === 'help') {
    process.stdout.write(RUN_HELP);
    return ExitCode.Ok;
  }
  const settings = parsed;
  const path = handlerPath(settings.handler);
  if (settings.waitForInterface && !(await waitForInterfaces(settings.interfaces, (line) => process.stderr.write(`afxdp: ${line}\n`)))) {
    return ExitCode.Ok; // stopped while waiting
  }
  resolveTargets(settings);

  // With --capture - stdout carries the pcapng: the status goes to stderr.
  const statusOut = settings.capture?.path === '-' ? process.stderr : process.stdout;
  const tty = statusOut.isTTY === true && !settings.quiet;
  const block = tty ? new LiveBlock(statusOut) : null;
  const log = (line: string) => {
    const text = `afxdp: ${line}`;
    if (block) block.log(text);
    else process.stderr.write(`${text}\n`);
  };

  // Started just before the workers (which copy into its rings from their
  // first frame), so that no earlier failure leaves a capture file behind.
  let capture: Capture | null = null;
  const supervisor = new Supervisor({
    handlerPath: path,
    interfaces: settings.interfaces,
    queues: settings.queues,
    open: settings.open,
    ...(settings.steer && { steer: settings.steer }),
    ...(settings.capture?.path === '-' && { workerStdout: process.stderr }),
    stallMs: settings.stallTimeout * 1000,
    reloadTimeoutMs: settings.reloadTimeout * 1000,
    maxRestarts: settings.maxRestarts,
    restartWindowMs: RESTART_WINDOW_MS,
  }, log);

  // The first reason to stop wins (a signal, an interface gone, a fatal error).
  let exitCode: number | null = null;
  let resolveExit!: () => void;
  const exitRequested = new Promise<void>((r) => (resolveExit = r));
  const finish = (code: number, line?: string) => {
    if (exitCode !== null) return;
    if (line) log(line);
    exitCode = code;
    resolveExit();
  };
  const reloads = new ReloadQueue(async (why) => {
    if (exitCode !== null || supervisor.state === 'starting') return;
    log(`${why}: reloading ${settings.handler}`);
    const results = await supervisor.reload();
    const failed = results.filter((r) => !r.ok);
    if (failed.length) for (const f of failed) log(`error: ${f.message}`);
    else log(`handler reloaded on ${results.length} worker(s) (generation ${supervisor.generation})`);
  });
  const releaseSignals = catchSignals({
    stop: () => finish(ExitCode.Ok),
    reload: () => reloads.request('SIGHUP'),
    insist: (signal) => {
      log(`${signal} again: exiting at once`);
      process.exit(ExitCode.Failure);
    },
  });

  let server: Server | null = null;
  let control: Awaited<ReturnType<typeof serveControl>> | null = null;
  let links: LinkMonitor | null = null;
  let ticker: StatusTicker | null = null;
  let unwatch: (() => void) | null = null;
  let started = false;
  const state = new StateFile(settings, path);
  try {
    // Start-up order: everything that can fail for a reason of its own (the
    // metrics port, the control socket, the link watch) before a worker
    // opens a port, so such a failure leaves nothing attached.
    if (settings.metrics) {
      const metrics = createMetrics({
        collect: () => supervisor.collect(),
        health: () => ({ state: supervisor.state, fresh: supervisor.fresh, workers: supervisor.health(), links: links?.links() ?? [] }),
        ...(settings.capture && { capture: () => capture?.stats() ?? NO_CAPTURE_YET }),
      });
      try {
        server = await serveMetrics(metrics, settings.metrics.host, settings.metrics.port);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        process.stderr.write(`afxdp: cannot serve metrics on ${settings.metrics.host}:${settings.metrics.port}: ${e.message}` +
          `${e.code === 'EADDRINUSE' ? ': choose another --metrics port' : ''}\n`);
        return e.code === 'EADDRINUSE' ? ExitCode.Busy : e.code === 'EACCES' ? ExitCode.Permission : ExitCode.Failure;
      }
    }
    control = await serveControl((request) => supervisor.control(request));
    links = new LinkMonitor(settings.interfaces, {
      gone: (ifname) => finish(ExitCode.NoSuchInterface, `${ifname} disappeared`),
      link: (ifname, up) => log(`${ifname} link ${up ? 'up' : 'down'}`),
    });

    // Each worker loads the handler, opens its ports and runs setup(); the
    // first failure stops them all (ports closed, programs detached).
    if (settings.capture) {
      capture = startCapture(settings.capture, settings, log);
      supervisor.captureInto(capture);
    }
    try {
      await supervisor.start((code, message) => finish(code, `error: ${message}`));
      started = true;
    } catch (err) {
      const d = describeError(err);
      process.stderr.write(`afxdp: ${d.message}\n`);
      return await shutdown(d.exitCode);
    }
    if (exitCode !== null) return await shutdown(exitCode);

    try {
      // Said once the start succeeded: a failed start prints one line, its reason.
      if (control.problem) log(`warn: no control socket (afxdp block/unblock will not reach this daemon): ${control.path}: ${control.problem}`);
      // Before the 'running' line, which tells callers the daemon is ready.
      if (settings.watch) unwatch = watchHandlerFile(path, () => reloads.request('file changed'));
      const first = await supervisor.collect(1000);
      const modes = first.flatMap((w) => w.ports).map((p) => `${p.interface}/${p.queue} ${p.attachMode}${p.zeroCopy ? ' zero-copy' : ' copy'}`);
      log(`running ${settings.handler} on ${modes.join(', ')} (pid ${process.pid})`);
      if (settings.steerText !== undefined) log(`steering to the handler: ${settings.steerText}; everything else to the kernel`);
      if (settings.steer) for (const w of reachabilityWarnings(settings.steer, settings.steerText)) log(`warning: --steer: ${w.message}`);
      if (server) log(`metrics at http://${serverAddress(server)}/metrics`);
      if (settings.capture) log(`capturing to ${settings.capture.path === '-' ? 'stdout' : settings.capture.path}${settings.capture.filter ? ` (filter: ${settings.capture.filter})` : ''}`);
      ticker = new StatusTicker({ collect: () => supervisor.collect(), state, block, quiet: settings.quiet, interval: settings.statusInterval, out: statusOut }, first);
    } catch (err) {
      // Whatever fails after the start (the file watch, say) stops the workers too.
      log(`error: ${describeError(err).message}`);
      return await shutdown(ExitCode.Failure);
    }
    await exitRequested;
    return await shutdown(exitCode ?? ExitCode.Ok);
  } finally {
    releaseSignals();
    // Every way out stops the writer thread (after shutdown: already stopped).
    await capture?.stop().catch(() => undefined);
  }

  /** Stop within about a second, whatever the handler does: totals printed, nothing left attached. */
  async function shutdown(code: number): Promise<number> {
    ticker?.stop();
    unwatch?.();
    reloads.close();
    links?.close();
    // A queue whose worker is stalled or crashed and was not restarted makes the exit non-zero.
    if (code === ExitCode.Ok && supervisor.degraded) {
      log('a worker was not running at the stop (stalled or crashed, not restarted)');
      code = ExitCode.Failure;
    }
    if (control) await closeControl(control.server, control.path);
    const terminated = await supervisor.stop();
    for (const q of terminated) log(`the worker for queue ${q} did not stop within 0.5 s (a stuck handler?): terminated`);
    // After the workers: nothing writes into the rings any more.
    // A start that failed leaves no (empty) capture file behind.
    if (capture) await stopCapture(capture, log, started);
    if (code === ExitCode.Ok && terminated.length > 0) code = ExitCode.Failure;
    state.remove();
    if (server) {
      server.closeAllConnections();
      await new Promise((r) => server!.close(r));
    }
    block?.release();
    // Each worker's counters as its loops ended; a terminated one's last known.
    if (!settings.quiet && started) printTotals(supervisor.lastStats(), statusOut);
    supervisor.lifecycle.to('stopped');
    if (started) log(code === 0 ? 'stopped' : `stopped (exit ${code})`);
    return code;
  }
}

const NO_CAPTURE_YET = { written: 0, bytes: 0, filtered: 0, dropped: 0, limitReached: false };

/** One ring per queue and interface, queue-major (as the supervisor hands them out). */
function startCapture(options: CaptureOptions, settings: RunSettings, log: (line: string) => void): Capture {
  const ports = settings.queues.flatMap((queue) => settings.interfaces.map((ifname) => ({ interface: ifname, queue })));
  const capture = new Capture(options, ports);
  // A writer that fails while running (disk full, reader gone) is said at once; the data path goes on.
  capture.done.catch((err: unknown) => log(`warn: capture stopped: ${(err as Error).message}`));
  return capture;
}

async function stopCapture(capture: Capture, log: (line: string) => void, started: boolean): Promise<void> {
  let files: string[] = [];
  try {
    files = await capture.stop({ keepEmpty: started });
  } catch {
    // Said when it happened (startCapture).
  }
  const s = capture.stats();
  const where = files.length ? ` to ${files.join(', ')}` : '';
  log(`capture: ${s.written} frames (${s.bytes} bytes) written${where}; ${s.filtered} filtered out, ${s.dropped} dropped (the writer fell behind)${s.limitReached ? '; the limit was reached' : ''}`);
}

function serverAddress(server: Server): string {
  const addr = server.address();
  return typeof addr === 'object' && addr ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : '';
}
