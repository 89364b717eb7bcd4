/**
 * Notices a worker thread that stopped running JavaScript's event loop (a
 * handler stuck in a loop): its heartbeat counter (bumped by a timer on the
 * worker's own thread) has not moved for `stallMs`. Checked from a timer on
 * the main thread, a few times per timeout; the main thread never waits on
 * the worker.
 */
import type { WorkerSlot } from './worker-slot.js';

export class Watchdog {
  readonly stallMs: number;
  readonly #slots: () => Iterable<WorkerSlot>;
  readonly #stalled: (slot: WorkerSlot, ms: number) => void;
  readonly #seen = new WeakMap<WorkerSlot, { value: number; at: number; reported: boolean }>();
  readonly #timer: NodeJS.Timeout;

  constructor(stallMs: number, slots: () => Iterable<WorkerSlot>, stalled: (slot: WorkerSlot, ms: number) => void) {
    this.stallMs = stallMs;
    this.#slots = slots;
    this.#stalled = stalled;
    this.#timer = setInterval(() => this.check(), Math.min(250, Math.max(20, stallMs / 4)));
    this.#timer.unref();
  }

  check(now = performance.now()): void {
    for (const slot of this.#slots()) {
      if (!slot.ready || slot.stopping || slot.gone) continue; // start-up has its own bound
      const value = Atomics.load(slot.beat, 0);
      const seen = this.#seen.get(slot);
      if (!seen || seen.value !== value) {
        this.#seen.set(slot, { value, at: now, reported: false });
        continue;
      }
      if (!seen.reported && now - seen.at >= this.stallMs) {
        seen.reported = true;
        this.#stalled(slot, now - seen.at);
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
