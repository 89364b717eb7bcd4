/**
 * The status every second: the live block on a terminal, a log line every
 * --status-interval seconds otherwise, and the state file for `afxdp status`.
 * Also the final totals at exit.
 */
import type { WorkerStats } from './protocol.js';
import type { StateFile } from './state-file.js';
import { LiveBlock, logLine, rows, steeringLogLine, steeringRows, steeringTerminalLine, terminalLine } from './status-view.js';

export interface TickerOptions {
  collect(): Promise<WorkerStats[]>;
  state: StateFile;
  block: LiveBlock | null;
  quiet: boolean;
  /** Seconds between log lines when not on a terminal (0: only at exit). */
  interval: number;
  /** Where status lines go: stdout, or stderr when stdout carries a capture. */
  out: NodeJS.WritableStream;
}

export class StatusTicker {
  readonly #o: TickerOptions;
  #previous: { at: number; stats: WorkerStats[] };
  #lastLog = performance.now();
  #timer: NodeJS.Timeout;
  #busy = false;

  constructor(options: TickerOptions, first: WorkerStats[]) {
    this.#o = options;
    this.#previous = { at: performance.now(), stats: first };
    options.state.update(first);
    this.#timer = setInterval(() => void this.#tick(), 1000);
  }

  async #tick(): Promise<void> {
    if (this.#busy) return; // a slow collect never piles up ticks
    this.#busy = true;
    try {
      const o = this.#o;
      const stats = await o.collect();
      const now = performance.now();
      const seconds = (now - this.#previous.at) / 1000;
      const r = rows(stats, this.#previous.stats, seconds);
      const k = steeringRows(stats, this.#previous.stats, seconds);
      this.#previous = { at: now, stats };
      o.state.update(stats);
      if (o.block) o.block.render([...k.map(steeringTerminalLine), ...r.map(terminalLine)]);
      else if (!o.quiet && o.interval > 0 && now - this.#lastLog >= o.interval * 1000 - 50) {
        this.#lastLog = now;
        const when = new Date();
        for (const row of k) o.out.write(`${steeringLogLine(row, when)}\n`);
        for (const row of r) o.out.write(`${logLine(row, when)}\n`);
      }
    } finally {
      this.#busy = false;
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** The totals at exit, always as log lines (also on a terminal: they stay in the scrollback). */
export function printTotals(last: WorkerStats[], out: NodeJS.WritableStream = process.stdout): void {
  const when = new Date();
  for (const row of steeringRows(last, null, 0)) out.write(`${steeringLogLine(row, when)} final\n`);
  for (const row of rows(last, null, 0)) out.write(`${logLine(row, when)} final\n`);
}
