/**
 * Reload requests (SIGHUP, --watch) run one at a time. A request that comes
 * during a reload runs after it (the file may have changed again since that
 * reload read it); several such requests make one.
 */
export class ReloadQueue {
  readonly #run: (why: string) => Promise<void>;
  #running: Promise<void> | null = null;
  #again: string | null = null;
  #closed = false;

  constructor(run: (why: string) => Promise<void>) {
    this.#run = run;
  }

  request(why: string): void {
    if (this.#closed) return;
    if (this.#running) {
      this.#again = why;
      return;
    }
    this.#running = this.#run(why).catch(() => undefined).finally(() => {
      this.#running = null;
      const again = this.#again;
      this.#again = null;
      if (again !== null) this.request(again);
    });
  }

  /** No more reloads (the daemon stops); one in progress is not waited for. */
  close(): void {
    this.#closed = true;
    this.#again = null;
  }
}
