/**
 * The daemon's supervisor: one worker thread per queue, their health, and
 * the daemon's named lifecycle (ts/daemon/lifecycle.ts).
 *
 * A worker whose heartbeat stops (a stuck handler) or that fails after it
 * was ready (a crash, an exit) is terminated and started again on its queue
 * — its ports closed and reopened — while the other queues keep running. A
 * queue restarted more than `maxRestarts` times within `restartWindowMs`
 * ends the daemon (exit 1). A reload is bounded in time; the generation
 * counts reloads that took effect.
 */
import type { Capture } from '../capture/index.js';
import { CliError, ExitCode } from '../cli/exit-codes.js';
import { within, seconds } from './deadline.js';
import { Lifecycle, type DaemonStateName } from './lifecycle.js';
import type { ControlRequest, WorkerConfig, WorkerStats } from './protocol.js';
import { Watchdog } from './watchdog.js';
import { WorkerSlot } from './worker-slot.js';

export interface SupervisorOptions {
  handlerPath: string;
  interfaces: string[];
  queues: number[];
  open: WorkerConfig['open'];
  steer?: WorkerConfig['steer'];
  /** Where the workers' stdout goes (default: the daemon's stdout). */
  workerStdout?: NodeJS.WritableStream;
  /** A worker whose heartbeat has not moved for this long is stalled. */
  stallMs: number;
  /** Bound on a reload's import, setup() and teardown(). */
  reloadTimeoutMs: number;
  maxRestarts: number;
  restartWindowMs: number;
}

/** How long a worker may take to open its ports and run setup(). */
const START_TIMEOUT_MS = 60_000;

export interface WorkerHealth {
  queue: number;
  up: boolean;
  restarts: number;
}

export class Supervisor {
  readonly lifecycle: Lifecycle;
  readonly options: SupervisorOptions;
  #slots = new Map<number, WorkerSlot>();
  /** Queues whose worker is stalled, crashed or being restarted. */
  #faults = new Map<number, string>();
  #restartTimes = new Map<number, number[]>();
  #restarts = new Map<number, number>();
  #generation = 0;
  #attempt = 0;
  #reloading = false;
  #watchdog: Watchdog | null = null;
  #log: (line: string) => void;
  #fatal: (exitCode: number, message: string) => void = () => undefined;
  /**
   * --capture: its rings in queue-major order (queue i's ports are rings
   * i * interfaces.length + j, interface j). A restarted worker writes into
   * the rings of the one it replaces.
   */
  #capture: Capture | null = null;
  /** Whether every worker answered the last collect. */
  fresh = true;

  constructor(options: SupervisorOptions, log: (line: string) => void) {
    this.options = options;
    this.#log = log;
    this.lifecycle = new Lifecycle(log);
  }

  get state(): DaemonStateName {
    return this.lifecycle.state;
  }

  get queues(): number[] {
    return [...this.options.queues];
  }

  /** Whether some queue is not served now (stalled, crashed, restarting). */
  get degraded(): boolean {
    return this.#faults.size > 0;
  }

  health(): WorkerHealth[] {
    return this.options.queues.map((queue) => ({
      queue,
      up: !this.#faults.has(queue) && this.#slots.get(queue)?.live === true,
      restarts: this.#restarts.get(queue) ?? 0,
    }));
  }

  #spawn(queue: number): WorkerSlot {
    const { handlerPath, interfaces, open, steer, reloadTimeoutMs } = this.options;
    const config: Omit<WorkerConfig, 'queue' | 'heartbeat'> = { handlerPath, interfaces, open, reloadTimeoutMs, generation: this.#generation };
    if (steer) config.steer = steer;
    const capture = this.#capture;
    if (capture) {
      const first = this.options.queues.indexOf(queue) * interfaces.length;
      config.capture = { rings: interfaces.map((_, j) => capture.ringBuffer(first + j)), snapLength: capture.snapLength };
    }
    const slot = new WorkerSlot(queue, config, {
      log: this.#log,
      failed: (s, _code, message) => this.#onFault(s, `error: ${message}`, `worker for queue ${s.queue} failed`),
      ...(this.options.workerStdout && { stdout: this.options.workerStdout }),
    });
    this.#slots.set(queue, slot);
    return slot;
  }

  /** The worker's start, bounded: its failure, or null once ready. */
  async #started(slot: WorkerSlot): Promise<CliError | null> {
    try {
      return await within(slot.started, START_TIMEOUT_MS, `the start of the worker for queue ${slot.queue}`);
    } catch (err) {
      await slot.terminate();
      return new CliError(ExitCode.Failure, (err as Error).message);
    }
  }

  /** Capture into `capture` (--capture), from the start on: call before `start`. */
  captureInto(capture: Capture): void {
    this.#capture = capture;
  }

  /**
   * Start a worker per queue; resolves when all are ready. On the first
   * failure the others are stopped (nothing stays attached) and it rejects
   * with that failure. `fatal` is called later when the daemon cannot go on.
   */
  async start(fatal: (exitCode: number, message: string) => void): Promise<void> {
    const slots = this.options.queues.map((q) => this.#spawn(q));
    const failures = await Promise.all(slots.map((s) => this.#started(s)));
    const first = failures.find((f) => f !== null);
    if (first) {
      await this.stop();
      throw first;
    }
    this.#fatal = fatal;
    this.#watchdog = new Watchdog(this.options.stallMs, () => this.#slots.values(), (slot, ms) =>
      this.#onFault(slot, `queue ${slot.queue} handler stalled for ${seconds(ms)} s in ${this.options.handlerPath}`, `queue ${slot.queue} handler stalled`));
    this.lifecycle.to('running');
  }

  #onFault(slot: WorkerSlot, line: string, why: string): void {
    if (this.lifecycle.ending || this.#slots.get(slot.queue) !== slot) return;
    this.#log(line);
    this.#faults.set(slot.queue, why);
    this.lifecycle.to('degraded', why);
    void this.#restart(slot);
  }

  /** Terminate `slot` and start its queue again, within the restart budget. */
  async #restart(slot: WorkerSlot): Promise<void> {
    const { queue } = slot;
    const now = performance.now();
    const times = (this.#restartTimes.get(queue) ?? []).filter((t) => now - t < this.options.restartWindowMs);
    if (times.length >= this.options.maxRestarts) {
      this.#fatal(ExitCode.Failure, `queue ${queue}: restarted ${times.length} times within ${seconds(this.options.restartWindowMs)} s; giving up`);
      return;
    }
    times.push(now);
    this.#restartTimes.set(queue, times);
    if (!slot.gone) await slot.terminate();
    if (this.lifecycle.ending) return;
    this.#log(`restarting the worker for queue ${queue}`);
    const next = this.#spawn(queue);
    next.last = slot.last;
    const failure = await this.#started(next);
    if (this.lifecycle.ending) return;
    if (failure) {
      this.#log(`error: queue ${queue}: restart failed: ${failure.message}`);
      return this.#restart(next);
    }
    this.#restarts.set(queue, (this.#restarts.get(queue) ?? 0) + 1);
    this.#faults.delete(queue);
    this.#log(`worker for queue ${queue} restarted`);
    if (this.#faults.size === 0 && !this.#reloading) this.lifecycle.to('running', `queue ${queue} restarted`);
  }

  /**
   * Counters per queue: fresh from each live worker that answers within
   * `ms`, else the last ones it gave (a stalled or restarting worker).
   */
  async collect(ms = 500): Promise<WorkerStats[]> {
    const slots = [...this.#slots.values()];
    const answers = await Promise.all(slots.map((s) => s.stats(ms)));
    this.fresh = answers.every((a) => a !== null);
    return slots.map((s, i) => answers[i] ?? s.last).filter((s): s is WorkerStats => s !== null).sort((a, b) => a.queue - b.queue);
  }

  /** The counters each queue's worker gave last (after `stop`: its final ones; a terminated worker's last known). */
  lastStats(): WorkerStats[] {
    return [...this.#slots.values()].map((s) => s.last).filter((s): s is WorkerStats => s !== null).sort((a, b) => a.queue - b.queue);
  }

  /** A drop-list operation; one live worker carries it out (the list belongs to the interface). */
  async control(request: ControlRequest, ms = 5000): Promise<unknown> {
    const slot = [...this.#slots.values()].find((s) => s.live && !this.#faults.has(s.queue));
    if (!slot || this.lifecycle.ending) throw new CliError(ExitCode.Failure, this.lifecycle.state === 'starting' ? 'the daemon is starting' : 'the daemon is stopping');
    const msg = await slot.control(request, ms);
    if (!msg) throw new CliError(ExitCode.Failure, `worker for queue ${slot.queue} did not answer`);
    if (msg.ok) return msg.result;
    throw Object.assign(new Error(msg.error?.message ?? 'failed'), msg.error?.code ? { code: msg.error.code } : {});
  }

  /**
   * Reload the handler module in every live worker. Each worker bounds its
   * import, setup() and teardown(); a worker that does not answer at all
   * (stuck: the watchdog restarts it) is counted as failed. The generation
   * moves only when every worker took the new module.
   */
  async reload(): Promise<Array<{ ok: boolean; message: string }>> {
    const attempt = ++this.#attempt;
    const live = [...this.#slots.values()].filter((s) => s.live);
    this.#reloading = true;
    this.lifecycle.to('reloading');
    // import + setup() + teardown(), each bounded, plus slack for the messages.
    const ms = this.options.reloadTimeoutMs * 3 + 1000;
    const answers = await Promise.all(live.map((s) => s.reload(attempt, ms)));
    this.#reloading = false;
    const results = answers.map((a, i) => a
      ? { ok: a.ok, message: `q${a.queue}: ${a.message}` }
      : { ok: false, message: `q${live[i]!.queue}: no answer to the reload within ${seconds(ms)} s` });
    if (results.length > 0 && results.every((r) => r.ok)) this.#generation++;
    this.lifecycle.to(this.#faults.size > 0 ? 'degraded' : 'running');
    return results;
  }

  /** Reloads that took effect on every worker. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Stop every worker (ports closed, programs detached); a worker that has
   * not exited within `ms` (a stuck handler) is terminated. Resolves with
   * the queues whose worker had to be terminated.
   */
  async stop(ms = 500): Promise<number[]> {
    this.lifecycle.to('stopping');
    this.#watchdog?.close();
    const slots = [...this.#slots.values()];
    const terminated = await Promise.all(slots.map((s) => s.stop(ms)));
    return slots.filter((_, i) => terminated[i]).map((s) => s.queue);
  }
}
