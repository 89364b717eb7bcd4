/**
 * Bounding how long the daemon waits on code it does not control (a
 * handler's import, setup(), teardown(); a worker's answer): a promise that
 * has not settled in time is given up on, never awaited forever.
 */

/** Rejected by `within` when the promise did not settle in time. */
export class DeadlineError extends Error {
  readonly what: string;
  readonly ms: number;
  constructor(what: string, ms: number) {
    super(`${what} did not settle within ${seconds(ms)} s`);
    this.name = 'DeadlineError';
    this.what = what;
    this.ms = ms;
  }
}

/** `ms` as seconds with one decimal, for log lines. */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** `promise`, or a DeadlineError after `ms` (the promise itself runs on; its outcome is then ignored). */
export function within<T>(promise: Promise<T> | T, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DeadlineError(what, ms)), ms);
    Promise.resolve(promise).then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
