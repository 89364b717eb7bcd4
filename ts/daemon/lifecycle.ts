/**
 * The daemon's named states and their transitions. Each transition is
 * logged once ("state running -> degraded: queue 0 handler stalled") and is
 * what the afxdp_state metric exports.
 *
 *   starting --> running <--> reloading
 *                   ^  |
 *                   |  v
 *                 degraded            (a worker stalled, crashed, restarting)
 *   any --> stopping --> stopped
 */
export const STATES = ['starting', 'running', 'reloading', 'degraded', 'stopping', 'stopped'] as const;
export type DaemonStateName = (typeof STATES)[number];

export class Lifecycle {
  #state: DaemonStateName = 'starting';
  #ran = false;
  readonly #log: (line: string) => void;

  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  get state(): DaemonStateName {
    return this.#state;
  }

  /** Whether the daemon is on its way out (no more reloads, restarts or state changes but `stopped`). */
  get ending(): boolean {
    return this.#state === 'stopping' || this.#state === 'stopped';
  }

  /**
   * Move to `next` (a no-op if already there; nothing leaves stopping but
   * stopped). A start that fails never ran: its way out is not logged, so
   * the failure stays the one line a failed command prints.
   */
  to(next: DaemonStateName, why?: string): void {
    if (next === this.#state) return;
    if (this.ending && next !== 'stopped') return;
    if (next === 'running') this.#ran = true;
    if (this.#ran) this.#log(`state ${this.#state} -> ${next}${why ? `: ${why}` : ''}`);
    this.#state = next;
  }
}
