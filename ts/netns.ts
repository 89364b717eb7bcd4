/**
 * Network namespaces. Ports bind to interfaces of the calling thread's
 * namespace; entering one (as tests and `afxdp lab` do) makes its
 * interfaces reachable without `ip netns exec`. Worker threads started
 * afterwards inherit it.
 */
import { native } from './errors.js';
import { binding } from './native.js';

/** Move the calling thread into `/var/run/netns/<name>` (or an absolute path). */
export function enterNetns(name: string): void {
  native(() => binding.enterNetns(name));
}
