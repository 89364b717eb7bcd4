/**
 * One worker thread of the daemon, seen from the main thread: starting it,
 * the request/answer messages (stats, control, reload), its heartbeat, and
 * stopping or terminating it. One instance per incarnation: a restarted
 * queue gets a new WorkerSlot.
 */
import { Worker } from 'node:worker_threads';
import { workerBootstrap } from '../handler/loader.js';
import { CliError, ExitCode, describeError } from '../cli/exit-codes.js';
import type { ControlRequest, FromWorker, ToWorker, WorkerConfig, WorkerStats } from './protocol.js';

export interface SlotEvents {
  log(line: string): void;
  /** The worker failed after it was ready (a fatal message, an error, or an exit nobody asked for). */
  failed(slot: WorkerSlot, exitCode: number, message: string): void;
  /**
   * Where the worker's stdout (a handler's console.log) goes: the daemon's
   * stdout (default), or stderr when stdout carries a capture (--capture -).
   */
  stdout?: NodeJS.WritableStream;
}

type Reloaded = Extract<FromWorker, { type: 'reloaded' }>;
type ControlAnswer = Extract<FromWorker, { type: 'control' }>;

let bootstrap: string | null = null;
function workerSource(): string {
  const entry = new URL(`./worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
  bootstrap ??= workerBootstrap(entry);
  return bootstrap;
}

export class WorkerSlot {
  readonly queue: number;
  readonly worker: Worker;
  /** The worker's heartbeat counter (shared memory). */
  readonly beat: Int32Array;
  /** Resolves (never rejects) once the worker is ready, or with the failure that ended its start. */
  readonly started: Promise<CliError | null>;
  /** Resolves when the thread has exited. */
  readonly exited: Promise<number>;
  ready = false;
  /** Exited, or asked to stop / terminated on purpose: its exit is not a failure. */
  stopping = false;
  gone = false;
  /** Last stats it answered with (shown for it while it does not answer). */
  last: WorkerStats | null = null;
  #nextId = 0;
  #stats = new Map<number, (s: WorkerStats) => void>();
  #control = new Map<number, (m: ControlAnswer) => void>();
  #reloads = new Map<number, (m: Reloaded) => void>();

  constructor(queue: number, config: Omit<WorkerConfig, 'queue' | 'heartbeat'>, events: SlotEvents) {
    this.queue = queue;
    const heartbeat = new SharedArrayBuffer(4);
    this.beat = new Int32Array(heartbeat);
    const workerData: WorkerConfig = { ...config, queue, heartbeat };
    const ownStdout = events.stdout !== undefined;
    this.worker = new Worker(workerSource(), { eval: true, workerData, name: `afxdp-q${queue}`, stdout: ownStdout });
    if (ownStdout) this.worker.stdout.pipe(events.stdout!, { end: false });
    this.exited = new Promise((r) => this.worker.once('exit', r));
    let settle!: (e: CliError | null) => void;
    this.started = new Promise((r) => (settle = r));
    const fail = (exitCode: number, message: string) => {
      if (!this.ready) settle(new CliError(exitCode, message));
      else if (!this.stopping) events.failed(this, exitCode, message);
      this.stopping = true;
    };
    this.worker.on('message', (msg: FromWorker) => {
      switch (msg.type) {
        case 'ready':
          this.ready = true;
          settle(null);
          break;
        case 'fatal':
          fail(msg.exitCode, msg.message);
          break;
        case 'stats':
          this.#stats.get(msg.id)?.(msg.stats);
          break;
        case 'log':
          events.log(`${msg.level === 'info' ? '' : `${msg.level}: `}q${msg.queue}: ${msg.message}`);
          break;
        case 'reloaded':
          this.#reloads.get(msg.attempt)?.(msg);
          break;
        case 'control':
          this.#control.get(msg.id)?.(msg);
          break;
        case 'stopped':
          this.stopping = true;
          this.last = msg.stats;
          break;
      }
    });
    this.worker.on('error', (err) => fail(ExitCode.Failure, `worker for queue ${queue} failed: ${describeError(err).message}`));
    this.worker.on('exit', (code) => {
      this.gone = true;
      if (!this.ready) settle(new CliError(ExitCode.Failure, `worker for queue ${queue} exited (code ${code}) before it was ready`));
      else if (!this.stopping) events.failed(this, ExitCode.Failure, `worker for queue ${queue} exited unexpectedly (code ${code})`);
      this.stopping = true;
    });
  }

  get live(): boolean {
    return this.ready && !this.stopping && !this.gone;
  }

  #post(msg: ToWorker): void {
    try {
      this.worker.postMessage(msg);
    } catch {
      // The worker is gone.
    }
  }

  /** Wait for `key`'s answer in `table`, at most `ms`; null when none came. */
  #ask<T>(table: Map<number, (m: T) => void>, key: number, ms: number, send: () => void): Promise<T | null> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), ms);
      const done = (m: T | null) => {
        clearTimeout(timer);
        table.delete(key);
        resolve(m);
      };
      table.set(key, done);
      send();
    });
  }

  /** Fresh counters, or null when the worker did not answer within `ms` (then `last` stays). */
  async stats(ms: number): Promise<WorkerStats | null> {
    if (!this.live) return null;
    const id = ++this.#nextId;
    const s = await this.#ask(this.#stats, id, ms, () => this.#post({ type: 'stats', id }));
    if (s) this.last = s;
    return s;
  }

  control(request: ControlRequest, ms: number): Promise<ControlAnswer | null> {
    const id = ++this.#nextId;
    return this.#ask(this.#control, id, ms, () => this.#post({ type: 'control', id, request }));
  }

  /** Ask for a reload; null when the worker did not answer within `ms`. */
  reload(attempt: number, ms: number): Promise<Reloaded | null> {
    return this.#ask(this.#reloads, attempt, ms, () => this.#post({ type: 'reload', attempt }));
  }

  /**
   * Stop it: ports closed, handler torn down; terminated if it has not
   * exited within `ms`. Resolves with whether it had to be terminated.
   */
  async stop(ms: number): Promise<boolean> {
    if (this.gone) return false;
    this.stopping = true;
    this.#post({ type: 'stop' });
    let terminated = false;
    const timer = setTimeout(() => {
      terminated = true;
      void this.worker.terminate();
    }, ms);
    await this.exited;
    clearTimeout(timer);
    return terminated;
  }

  /** End the thread now, whatever it runs (a stuck handler). Its native resources are freed as the thread's environment is torn down. */
  async terminate(): Promise<void> {
    this.stopping = true;
    await this.worker.terminate();
    await this.exited;
  }
}
