/**
 * The daemon's signals: SIGINT/SIGTERM ask it to stop, SIGHUP to reload.
 * Caught from the very start, so a SIGTERM during start-up still stops
 * cleanly.
 */
export interface SignalHandlers {
  stop(signal: NodeJS.Signals): void;
  reload(): void;
  /** A stop signal repeated after the first (more than a second later): exit now. */
  insist(signal: NodeJS.Signals): void;
}

/** Install the handlers; returns the function that removes them. */
export function catchSignals(handlers: SignalHandlers): () => void {
  let firstStopAt: number | null = null;
  const onStop = (signal: NodeJS.Signals) => {
    // A repeat within a second is the same request delivered twice (a
    // terminal and a wrapper both forwarding Ctrl-C); a later one insists.
    if (firstStopAt !== null) {
      if (performance.now() - firstStopAt >= 1000) handlers.insist(signal);
      return;
    }
    firstStopAt = performance.now();
    handlers.stop(signal);
  };
  const onHup = () => handlers.reload();
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onHup);
  return () => {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.off('SIGHUP', onHup);
  };
}
