/** What `setup(ctx)` of a handler module receives, once per worker. */
import type { Port } from '../port.js';

export interface HandlerContext {
  /** The queue index this worker serves (on every interface). */
  queue: number;
  /** Interface names, in the order given on the command line. */
  interfaces: string[];
  /**
   * This worker's port on each interface, by name. They share one UMEM, so
   * a handler may `return packet.forward(ctx.ports.eth1)`. Each port also
   * reaches its interface's kernel fast path: `ctx.ports.eth0.kernel.block(
   * '198.51.100.0/24', { ttl: 60 })` (the drop list), `ctx.ports.eth0.rules`
   * (the steering rules, shared by every queue of the interface).
   */
  ports: Record<string, Port>;
  /** Times the module was reloaded before this setup (0 on first load). */
  generation: number;
  /** A line in the daemon's log, tagged with the queue. */
  log(message: string): void;
}
