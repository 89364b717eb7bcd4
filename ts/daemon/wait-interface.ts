/**
 * --wait-for-interface: before the start, wait until every interface exists
 * (a daemon started before its device, or restarted by systemd after the
 * device went away) instead of exiting 4. SIGINT/SIGTERM end the wait.
 */
import { interfaceExists } from '../cli/args.js';

/** Resolves true once all `interfaces` exist, false if a stop signal came first. */
export function waitForInterfaces(interfaces: string[], log: (line: string) => void, pollMs = 200): Promise<boolean> {
  const missing = () => interfaces.filter((i) => !interfaceExists(i));
  if (missing().length === 0) return Promise.resolve(true);
  log(`waiting for ${missing().join(', ')} to appear`);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearInterval(timer);
      process.off('SIGINT', onStop);
      process.off('SIGTERM', onStop);
      resolve(ok);
    };
    const onStop = () => done(false);
    process.on('SIGINT', onStop);
    process.on('SIGTERM', onStop);
    const timer = setInterval(() => {
      if (missing().length === 0) {
        log(`${interfaces.join(', ')} present`);
        done(true);
      }
    }, pollMs);
  });
}
