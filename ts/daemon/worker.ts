/**
 * One daemon worker: serves one queue index on every interface of the run
 * (ports sharing one UMEM), with the user's handler. Driven by messages
 * from the main thread (ts/daemon/worker-slot.ts, for ts/daemon/supervisor.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { RingProducer } from '../capture/ring.js';
import { open, type Port } from '../port.js';
import type { Packet } from '../packet-view.js';
import { CliError, describeError, oneLine, ExitCode } from '../cli/exit-codes.js';
import { loadHandlerModule, type HandlerModule } from '../handler/module.js';
import type { HandlerContext } from '../handler/context.js';
import { DeadlineError, within } from './deadline.js';
import { BATCH_NS_BOUNDS, type BatchTiming, type ControlRequest, type FromWorker, type HandlerStats, type ToWorker, type WorkerConfig, type WorkerStats } from './protocol.js';

const config = workerData as WorkerConfig;
const port0 = parentPort!;
const { queue } = config;

function post(msg: FromWorker): void {
  port0.postMessage(msg);
}

function log(level: 'info' | 'warn' | 'error', message: string): void {
  post({ type: 'log', queue, level, message });
}

const stats: HandlerStats = { calls: 0, errors: 0, generation: config.generation, reloadFailures: 0 };

/*
 * The heartbeat: a timer on this thread's event loop bumps a shared counter.
 * The receive loop yields to the event loop every few batches and waits off
 * the thread when idle, so the counter moves unless JavaScript on this
 * thread (a handler, its setup()) runs without returning. Nothing per packet.
 */
const HEARTBEAT_MS = 50;
const beat = new Int32Array(config.heartbeat);
const heartbeat = setInterval(() => Atomics.add(beat, 0, 1), HEARTBEAT_MS);

/*
 * Handler time per batch, per port: Port.run calls onBatch after every
 * batch. Everything is accumulated into one preallocated Float64Array per
 * port, [batches, frames, handlerNs, bucket 0, ..., bucket +Inf], by a
 * recorder made once per run, so the hot path allocates nothing; the numbers
 * are copied out only when the main thread asks for stats (status tick,
 * metrics scrape).
 */
const BOUNDS = Float64Array.from(BATCH_NS_BOUNDS);
const NBOUNDS = BOUNDS.length;
const BATCHES = 0;
const FRAMES = 1;
const NS = 2;
const BUCKET0 = 3;
const timings = new Map<Port, Float64Array>();

function batchRecorder(acc: Float64Array): (frames: number, handlerNs: number) => void {
  return (frames, handlerNs) => {
    acc[BATCHES]++;
    acc[FRAMES] += frames;
    acc[NS] += handlerNs;
    let i = 0;
    while (i < NBOUNDS && handlerNs > BOUNDS[i]) i++;
    acc[BUCKET0 + i]++;
  };
}

function batchTiming(p: Port): BatchTiming {
  const acc = timings.get(p);
  return {
    interface: p.interface,
    queue: p.queue,
    batches: acc?.[BATCHES] ?? 0,
    frames: acc?.[FRAMES] ?? 0,
    handlerNs: acc?.[NS] ?? 0,
    buckets: acc ? Array.from(acc.subarray(BUCKET0)) : new Array<number>(NBOUNDS + 1).fill(0),
  };
}

// Rate-limited reporting of handler exceptions: the first of each message at
// once, then a summary at most every 5 s.
let lastErrorLog = 0;
let suppressed = 0;
const seenErrors = new Set<string>();
function noteHandlerError(err: unknown): void {
  const msg = oneLine(String((err as Error)?.stack?.split('\n').slice(0, 2).join(' ') ?? err));
  const now = Date.now();
  if (!seenErrors.has(msg) && seenErrors.size < 100) {
    seenErrors.add(msg);
    log('warn', `handler threw (frame dropped): ${msg}`);
    lastErrorLog = now;
  } else if (now - lastErrorLog > 5000) {
    log('warn', `handler threw ${suppressed + 1} more times (frames dropped); last: ${msg}`);
    suppressed = 0;
    lastErrorLog = now;
  } else {
    suppressed++;
  }
}

let current: HandlerModule<HandlerContext>;

/** What the ports run: the current handler (swapped on reload), counted. Its failures reach noteHandlerError through the port. */
function wrapped(packet: Packet): number {
  stats.calls++;
  return current.handler(packet);
}

const ports: Port[] = [];
const controller = new AbortController();
let runs: Promise<void>[] = [];

function context(generation: number): HandlerContext {
  const byName: Record<string, Port> = {};
  for (const p of ports) byName[p.interface] = p;
  return {
    queue,
    interfaces: [...config.interfaces],
    ports: byName,
    generation,
    log: (message: string) => log('info', String(message)),
  };
}

/** The counters of the open ports and the handler, now. */
function snapshot(): WorkerStats {
  const portStats = [];
  const batches = [];
  for (const p of ports) {
    if (p.closed) continue;
    portStats.push(p.stats());
    batches.push(batchTiming(p));
  }
  return { queue, ports: portStats, batches, handler: { ...stats } };
}

/** Stop the receive loops; resolves with the counters as they end (before the ports close). */
async function closeAll(): Promise<WorkerStats> {
  controller.abort();
  await Promise.allSettled(runs);
  const final = snapshot();
  // The ports sharing a UMEM close in reverse order: the owner last.
  for (const p of [...ports].reverse()) {
    try {
      await p.close();
    } catch (err) {
      log('error', `closing ${p.interface}/${p.queue}: ${describeError(err).message}`);
    }
  }
  return final;
}

async function fatal(err: unknown): Promise<void> {
  const d = describeError(err, { interface: config.interfaces[0] });
  clearInterval(heartbeat);
  await closeAll();
  post({ type: 'fatal', queue, exitCode: d.exitCode, message: d.message });
  port0.close();
}

async function start(): Promise<void> {
  try {
    current = await loadHandlerModule<HandlerContext>(config.handlerPath);
  } catch (err) {
    return fatal(err);
  }
  try {
    for (const ifname of config.interfaces) {
      const p = await open({
        interface: ifname,
        queue,
        mode: config.open.mode,
        zeroCopy: config.open.zeroCopy,
        ...(config.open.frameSize !== undefined && { frameSize: config.open.frameSize }),
        ...(config.open.frames !== undefined && { frames: config.open.frames }),
        ...(config.open.batchSize !== undefined && { batchSize: config.open.batchSize }),
        ...(config.open.ringSize !== undefined && { ringSize: config.open.ringSize }),
        ...(config.open.busyPoll && { busyPoll: true }),
        // Every worker sets the same rule set (rules belong to the interface):
        // no worker's port ever runs under the attach-time "steer all".
        ...(config.steer !== undefined && { steer: config.steer }),
        ...(ports[0] && { shareUmemWith: ports[0] }),
      });
      const ring = config.capture?.rings[ports.length];
      if (ring) p._attachCapture(new RingProducer(ring, config.capture!.snapLength));
      ports.push(p);
    }
  } catch (err) {
    const d = describeError(err, { interface: config.interfaces[ports.length] ?? config.interfaces[0] });
    return fatal(new CliError(d.exitCode, `${config.interfaces[ports.length]} queue ${queue}: ${d.message}`));
  }
  try {
    await current.setup?.(context(stats.generation));
  } catch (err) {
    return fatal(new CliError(ExitCode.HandlerLoad, `handler ${config.handlerPath}: setup() threw: ${errorText(err)}`, { cause: err }));
  }
  post({
    type: 'ready',
    queue,
    ports: ports.map((p) => {
      const s = p.stats();
      return { interface: p.interface, queue: p.queue, attachMode: s.attachMode, zeroCopy: s.zeroCopy };
    }),
  });
  runs = ports.map((p) => {
    const acc = new Float64Array(BUCKET0 + NBOUNDS + 1);
    timings.set(p, acc);
    return p.run(wrapped, { signal: controller.signal, onBatch: batchRecorder(acc), onHandlerError: noteHandlerError, ...(config.open.spinMicros && { spinMicros: config.open.spinMicros }) }).catch((err) => {
      if (!controller.signal.aborted) void fatal(err);
    });
  });
}

function errorText(err: unknown): string {
  return oneLine(String((err as Error)?.message ?? err));
}

/**
 * Swap in a fresh import of the handler module. Its import and setup() must
 * settle within the reload timeout, or the reload is abandoned and the
 * current handler keeps running (a setup() that settles later is torn down).
 * The previous handler's teardown() runs after the swap, also bounded.
 */
async function reload(attempt: number): Promise<void> {
  const limit = config.reloadTimeoutMs;
  let next: HandlerModule<HandlerContext> | undefined;
  try {
    next = await within(loadHandlerModule<HandlerContext>(config.handlerPath, attempt), limit, 'the import of the new module');
    const setup = Promise.resolve(next.setup?.(context(stats.generation + 1)));
    const late = next;
    await within(setup, limit, 'setup()').catch((err: unknown) => {
      if (err instanceof DeadlineError) void setup.then(() => late.teardown?.()).catch(() => undefined);
      throw err;
    });
  } catch (err) {
    stats.reloadFailures++;
    const message = err instanceof DeadlineError
      ? `reload abandoned: ${err.message}; the previous handler keeps running`
      : `reload failed, the previous handler keeps running: ${errorText(err)}`;
    post({ type: 'reloaded', queue, ok: false, attempt, generation: stats.generation, message });
    return;
  }
  const previous = current;
  current = next; // between two packets: the run loop is on this thread
  stats.generation++;
  try {
    await within(previous.teardown?.(), limit, 'teardown() of the previous handler');
  } catch (err) {
    log('warn', err instanceof DeadlineError ? `${err.message}; abandoned (the new handler runs)` : `teardown() of the previous handler threw: ${errorText(err)}`);
  }
  post({ type: 'reloaded', queue, ok: true, attempt, generation: stats.generation, message: 'handler reloaded' });
}

async function stop(): Promise<void> {
  clearInterval(heartbeat);
  const final = await closeAll();
  try {
    await within(current?.teardown?.(), config.reloadTimeoutMs, 'teardown()');
  } catch (err) {
    log('warn', err instanceof DeadlineError ? `${err.message}; abandoned` : `teardown() threw: ${errorText(err)}`);
  }
  post({ type: 'stopped', queue, stats: final });
  port0.close();
}

/** A drop-list operation from the control socket, on this worker's port of the interface. */
function control(request: ControlRequest): unknown {
  const p = ports.find((x) => x.interface === request.interface && !x.closed);
  if (!p) throw new CliError(ExitCode.NoSuchInterface, `this daemon does not serve '${request.interface}'`);
  switch (request.op) {
    case 'block':
      p.kernel.block(request.prefix, request.ttl === undefined ? {} : { ttl: request.ttl });
      return true;
    case 'unblock':
      return p.kernel.unblock(request.prefix);
    case 'blocked':
      return p.kernel.blocked();
  }
}

port0.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'stats':
      post({ type: 'stats', id: msg.id, stats: snapshot() });
      break;
    case 'control': {
      try {
        post({ type: 'control', id: msg.id, ok: true, result: control(msg.request) });
      } catch (err) {
        const e = err as { message?: unknown; code?: unknown };
        const error: { message: string; code?: string } = { message: oneLine(String(e?.message ?? err)) };
        if (err instanceof CliError) error.code = `EXIT_${err.exitCode}`;
        else if (typeof e?.code === 'string') error.code = e.code;
        post({ type: 'control', id: msg.id, ok: false, error });
      }
      break;
    }
    case 'reload':
      void reload(msg.attempt);
      break;
    case 'stop':
      void stop();
      break;
  }
});

void start();
