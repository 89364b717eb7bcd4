/**
 * `afxdp run`: the daemon. One worker thread per queue; each opens that
 * queue on every interface (one shared UMEM) and runs the handler module.
 * The main thread owns signals, the live status, metrics and reload.
 */
import { Worker } from 'node:worker_threads';
import { readFileSync, realpathSync, watch, type FSWatcher } from 'node:fs';
import type { Server } from 'node:http';
import { basename, dirname } from 'node:path';
import { flag, int, interfaceExists, oneOf, parse, parseListen, parseQueues, rxQueueCount, str, strs, type Options } from '../args.js';
import { workerBootstrap } from '../../handler/loader.js';
import { CliError, ExitCode, describeError, usageError } from '../exit-codes.js';
import { handlerPath } from '../../handler/module.js';
import { createMetrics, serveMetrics } from '../../daemon/metrics.js';
import type { ControlRequest, FromWorker, ToWorker, WorkerConfig, WorkerStats } from '../../daemon/protocol.js';
import { LiveBlock, logLine, rows, steeringLogLine, steeringRows, steeringTerminalLine, terminalLine } from '../../daemon/status-view.js';
import { StateFile } from '../../daemon/state-file.js';
import { closeControl, serveControl } from '../../daemon/control.js';
import { steerRuleSet, SteerSyntaxError, type RuleSet } from '../../steer/index.js';

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
      --steer <expr>        Only frames matching the tcpdump-like expression
                            reach the handler (e.g. 'udp dst port 53'); the
                            rest stays with the kernel stack. Default: all.
                            Applies to every --interface.
      --metrics [host:]port Serve Prometheus metrics at http://host:port/metrics
                            (host defaults to 127.0.0.1; a wildcard only if asked)
      --config <file>       JSON file with any of these options (flags win)
      --watch               Reload the handler when its file changes
      --status-interval <s> Seconds between status log lines when stdout is not
                            a terminal (default 10; 0 = only at exit)
  -q, --quiet               No live status or status lines (errors still go to stderr)
  -h, --help                This help

Signals: SIGINT/SIGTERM stop cleanly (exit 0); SIGHUP reloads the handler
module without closing sockets (a module that fails keeps the old one).
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
  steer: { type: 'string' },
  metrics: { type: 'string' },
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
  watch: boolean;
  quiet: boolean;
  statusInterval: number;
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
  const settings: RunSettings = {
    handler: p.positionals[0]!,
    interfaces,
    queueSpec: str(p, 'queues') ?? 'all',
    queues: [],
    open,
    watch: flag(p, 'watch'),
    quiet: flag(p, 'quiet'),
    statusInterval: int(p, 'status-interval', 10, [0, 86400])!,
  };
  const metrics = str(p, 'metrics');
  if (metrics !== undefined) settings.metrics = parseListen(metrics);
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

interface WorkerSlot {
  queue: number;
  worker: Worker;
  ready: boolean;
  stopped: boolean;
  exited: Promise<number>;
}

export class Daemon {
  readonly settings: RunSettings;
  readonly handlerPath: string;
  #slots: WorkerSlot[] = [];
  #statsId = 0;
  #pendingStats = new Map<number, { want: number; got: WorkerStats[]; done: (s: WorkerStats[]) => void }>();
  #controlId = 0;
  #pendingControl = new Map<number, (msg: Extract<FromWorker, { type: 'control' }>) => void>();
  #generation = 0;
  #log: (line: string) => void;
  #onFatal: (exitCode: number, message: string) => void = () => undefined;
  #onReloaded: (ok: boolean, message: string) => void = () => undefined;

  constructor(settings: RunSettings, path: string, log: (line: string) => void) {
    this.settings = settings;
    this.handlerPath = path;
    this.#log = log;
  }

  /** Start the workers; resolves when all are ready, rejects (CliError) with the first failure after stopping the rest. */
  async start(onFatal: (exitCode: number, message: string) => void): Promise<void> {
    const entry = new URL(`../../daemon/worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
    const source = workerBootstrap(entry);
    let firstFailure: CliError | null = null;
    let readyCount = 0;
    let settle!: () => void;
    const allSettled = new Promise<void>((r) => (settle = r));
    const check = () => {
      if (readyCount + (this.#slots.filter((s) => s.stopped && !s.ready).length) >= this.#slots.length) settle();
    };
    for (const queue of this.settings.queues) {
      const config: WorkerConfig = {
        handlerPath: this.handlerPath,
        interfaces: this.settings.interfaces,
        queue,
        open: this.settings.open,
      };
      if (this.settings.steer) config.steer = this.settings.steer;
      const worker = new Worker(source, { eval: true, workerData: config, name: `afxdp-q${queue}` });
      const slot: WorkerSlot = { queue, worker, ready: false, stopped: false, exited: new Promise((r) => worker.once('exit', r)) };
      this.#slots.push(slot);
      worker.on('message', (msg: FromWorker) => {
        switch (msg.type) {
          case 'ready':
            slot.ready = true;
            readyCount++;
            check();
            break;
          case 'fatal':
            slot.stopped = true;
            if (!slot.ready) {
              firstFailure ??= new CliError(msg.exitCode, msg.message);
              check();
            } else {
              this.#onFatal(msg.exitCode, msg.message);
            }
            break;
          case 'stats': {
            const pending = this.#pendingStats.get(msg.id);
            if (pending) {
              pending.got.push(msg.stats);
              if (pending.got.length >= pending.want) pending.done(pending.got);
            }
            break;
          }
          case 'log':
            this.#log(`${msg.level === 'info' ? '' : `${msg.level}: `}q${msg.queue}: ${msg.message}`);
            break;
          case 'reloaded':
            this.#onReloaded(msg.ok, `q${msg.queue}: ${msg.message}`);
            break;
          case 'control':
            this.#pendingControl.get(msg.id)?.(msg);
            break;
          case 'stopped':
            slot.stopped = true;
            break;
        }
      });
      worker.on('error', (err) => {
        slot.stopped = true;
        const d = describeError(err);
        if (!slot.ready) {
          firstFailure ??= new CliError(ExitCode.Failure, `worker for queue ${queue} failed: ${d.message}`);
          check();
        } else {
          this.#onFatal(ExitCode.Failure, `worker for queue ${queue} failed: ${d.message}`);
        }
      });
      worker.on('exit', () => {
        if (!slot.stopped) {
          slot.stopped = true;
          if (!slot.ready) {
            firstFailure ??= new CliError(ExitCode.Failure, `worker for queue ${queue} exited before it was ready`);
            check();
          } else {
            this.#onFatal(ExitCode.Failure, `worker for queue ${queue} exited unexpectedly`);
          }
        }
      });
    }
    await allSettled;
    if (firstFailure) {
      await this.stop();
      throw firstFailure;
    }
    this.#onFatal = onFatal;
  }

  get queues(): number[] {
    return this.#slots.map((s) => s.queue);
  }

  #post(slot: WorkerSlot, msg: ToWorker): void {
    try {
      slot.worker.postMessage(msg);
    } catch {
      // The worker is gone.
    }
  }

  /** Fresh counters from every running worker (at most `timeoutMs` wait). */
  collect(timeoutMs = 1000): Promise<WorkerStats[]> {
    const live = this.#slots.filter((s) => s.ready && !s.stopped);
    if (live.length === 0) return Promise.resolve([]);
    const id = ++this.#statsId;
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish(this.#pendingStats.get(id)?.got ?? []), timeoutMs);
      const finish = (got: WorkerStats[]) => {
        clearTimeout(timer);
        this.#pendingStats.delete(id);
        resolve([...got].sort((a, b) => a.queue - b.queue));
      };
      this.#pendingStats.set(id, { want: live.length, got: [], done: finish });
      for (const s of live) this.#post(s, { type: 'stats', id });
    });
  }

  /**
   * A drop-list operation on an interface. The drop list belongs to the
   * interface (all its ports share it), so one worker carries it out.
   */
  control(request: ControlRequest, timeoutMs = 5000): Promise<unknown> {
    const slot = this.#slots.find((s) => s.ready && !s.stopped);
    if (!slot) return Promise.reject(new CliError(ExitCode.Failure, 'the daemon is stopping'));
    const id = ++this.#controlId;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pendingControl.delete(id);
        reject(new CliError(ExitCode.Failure, `worker for queue ${slot.queue} did not answer`));
      }, timeoutMs);
      this.#pendingControl.set(id, (msg) => {
        clearTimeout(timer);
        this.#pendingControl.delete(id);
        if (msg.ok) resolve(msg.result);
        else reject(Object.assign(new Error(msg.error?.message ?? 'failed'), msg.error?.code ? { code: msg.error.code } : {}));
      });
      this.#post(slot, { type: 'control', id, request });
    });
  }

  /** Reload the handler module in every worker; resolves with each worker's outcome. */
  reload(): Promise<Array<{ ok: boolean; message: string }>> {
    const generation = ++this.#generation;
    const live = this.#slots.filter((s) => s.ready && !s.stopped);
    return new Promise((resolve) => {
      const results: Array<{ ok: boolean; message: string }> = [];
      if (live.length === 0) return resolve(results);
      this.#onReloaded = (ok, message) => {
        results.push({ ok, message });
        if (results.length >= live.length) resolve(results);
      };
      for (const s of live) this.#post(s, { type: 'reload', generation });
    });
  }

  /** Stop every worker: ports closed, program detached. Terminates a worker that does not stop within `timeoutMs`. */
  async stop(timeoutMs = 5000): Promise<void> {
    await Promise.all(this.#slots.map(async (slot) => {
      this.#post(slot, { type: 'stop' });
      const timer = setTimeout(() => void slot.worker.terminate(), timeoutMs);
      await slot.exited;
      clearTimeout(timer);
    }));
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
  resolveTargets(settings);

  const tty = process.stdout.isTTY === true && !settings.quiet;
  const block = tty ? new LiveBlock(process.stdout) : null;
  const log = (line: string) => {
    const text = `afxdp: ${line}`;
    if (block) block.log(text);
    else process.stderr.write(`${text}\n`);
  };

  const daemon = new Daemon(settings, path, log);
  let resolveExit!: (code: number) => void;
  const exited = new Promise<number>((r) => (resolveExit = r));

  // Signals are caught from the start, so a SIGTERM during start-up still
  // leads to a clean stop.
  let stopRequested: number | null = null;
  let firstSignalAt = 0;
  const onStop = (signal: NodeJS.Signals) => {
    // A repeat within a second is the same request delivered twice (a
    // terminal and a wrapper both forwarding Ctrl-C); a later one insists.
    if (stopRequested !== null) {
      if (performance.now() - firstSignalAt < 1000) return;
      log(`${signal} again: exiting at once`);
      process.exit(ExitCode.Failure);
    }
    firstSignalAt = performance.now();
    stopRequested = ExitCode.Ok;
    resolveExit(ExitCode.Ok);
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);

  let reloading: Promise<unknown> | null = null;
  // A request that comes during a reload runs after it: the file may have
  // changed again since the reload read it.
  let reloadAgain: string | null = null;
  const reload = (why: string) => {
    if (stopRequested !== null) return;
    if (reloading) {
      reloadAgain = why;
      return;
    }
    log(`${why}: reloading ${settings.handler}`);
    reloading = daemon.reload().then((results) => {
      const failed = results.filter((r) => !r.ok);
      if (failed.length) for (const f of failed) log(`error: ${f.message}`);
      else log(`handler reloaded on ${results.length} worker(s)`);
    }).finally(() => {
      reloading = null;
      const again = reloadAgain;
      reloadAgain = null;
      if (again !== null) reload(again);
    });
  };
  const onHup = () => reload('SIGHUP');
  process.on('SIGHUP', onHup);

  let server: Server | null = null;
  const watchers: FSWatcher[] = [];
  let debounce: NodeJS.Timeout | null = null;
  let ticker: NodeJS.Timeout | null = null;
  let control: Awaited<ReturnType<typeof serveControl>> | null = null;
  const state = new StateFile(settings, path);
  try {
    try {
      await daemon.start((exitCode, message) => {
        log(`error: ${message}`);
        resolveExit(exitCode);
      });
    } catch (err) {
      const d = describeError(err);
      process.stderr.write(`afxdp: ${d.message}\n`);
      return d.exitCode;
    }
    if (stopRequested !== null) return await shutdown(stopRequested);

    // Before the 'running' line, which tells callers the daemon is ready.
    if (settings.watch) {
      // Watch the directory, not the file: editors that save by writing a new
      // file and renaming it over the old one replace the inode a file watch
      // is tied to, and it would go quiet after the first save. For a
      // symlink, both the link's directory (the link replaced) and its
      // target's (the file edited).
      const changed = () => {
        if (debounce) clearTimeout(debounce);
        debounce = setTimeout(() => reload('file changed'), 150);
      };
      const names = new Map<string, Set<string>>();
      for (const file of new Set([path, realpathSync(path)])) {
        const dir = dirname(file);
        names.set(dir, (names.get(dir) ?? new Set()).add(basename(file)));
      }
      for (const [dir, watched] of names) {
        // No file name (some platforms): any change in the directory counts.
        watchers.push(watch(dir, (_event, file) => (file === null || watched.has(file)) && changed()));
      }
    }
    const first = await daemon.collect();
    const modes = first.flatMap((w) => w.ports).map((p) => `${p.interface}/${p.queue} ${p.attachMode}${p.zeroCopy ? ' zero-copy' : ' copy'}`);
    log(`running ${settings.handler} on ${modes.join(', ')} (pid ${process.pid})`);
    if (settings.steerText !== undefined) log(`steering to the handler: ${settings.steerText}; everything else to the kernel`);
    control = await serveControl((request) => daemon.control(request));
    if (control.problem) log(`warn: no control socket (afxdp block/unblock will not reach this daemon): ${control.path}: ${control.problem}`);

    if (settings.metrics) {
      const metrics = createMetrics({ collect: () => daemon.collect() });
      try {
        server = await serveMetrics(metrics, settings.metrics.host, settings.metrics.port);
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        process.stderr.write(`afxdp: cannot serve metrics on ${settings.metrics.host}:${settings.metrics.port}: ${e.message}` +
          `${e.code === 'EADDRINUSE' ? ': choose another --metrics port' : ''}\n`);
        return await shutdown(e.code === 'EADDRINUSE' ? ExitCode.Busy : ExitCode.Failure);
      }
      const addr = server.address();
      const where = typeof addr === 'object' && addr ? `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` : '';
      log(`metrics at http://${where}/metrics`);
    }

    let previous: { at: number; stats: WorkerStats[] } | null = { at: performance.now(), stats: first };
    let lastLog = performance.now();
    const tick = async () => {
      const stats = await daemon.collect();
      const now = performance.now();
      const seconds = previous ? (now - previous.at) / 1000 : 0;
      const r = rows(stats, previous?.stats ?? null, seconds);
      const k = steeringRows(stats, previous?.stats ?? null, seconds);
      previous = { at: now, stats };
      state.update(stats);
      if (block) block.render([...k.map(steeringTerminalLine), ...r.map(terminalLine)]);
      else if (!settings.quiet && settings.statusInterval > 0 && now - lastLog >= settings.statusInterval * 1000 - 50) {
        lastLog = now;
        const when = new Date();
        for (const row of k) process.stdout.write(`${steeringLogLine(row, when)}\n`);
        for (const row of r) process.stdout.write(`${logLine(row, when)}\n`);
      }
    };
    ticker = setInterval(() => void tick(), 1000);
    state.update(first);
    const code = await exited;
    return await shutdown(code);
  } finally {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.off('SIGHUP', onHup);
  }

  async function shutdown(code: number): Promise<number> {
    if (ticker) clearInterval(ticker);
    for (const w of watchers) w.close();
    if (debounce) clearTimeout(debounce);
    const last = await daemon.collect().catch(() => []);
    if (control) await closeControl(control.server, control.path);
    await daemon.stop();
    state.remove();
    if (server) await new Promise((r) => server!.close(r));
    block?.release();
    if (!settings.quiet) {
      // Final totals, always as log lines (also on a terminal: they stay in the scrollback).
      const when = new Date();
      for (const row of steeringRows(last, null, 0)) process.stdout.write(`${steeringLogLine(row, when)} final\n`);
      for (const row of rows(last, null, 0)) process.stdout.write(`${logLine(row, when)} final\n`);
    }
    log(code === 0 ? 'stopped' : `stopped (exit ${code})`);
    return code;
  }
}
