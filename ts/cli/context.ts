/** What `setup(ctx)` of a handler module receives, once per worker. */
import type { Port } from '../port.js';

export interface HandlerContext {
  /** The queue index this worker serves (on every interface). */
  queue: number;
  /** Interface names, in the order given on the command line. */
  interfaces: string[];
  /**
   * This worker's port on each interface, by name. They share one UMEM, so
   * a handler may `return packet.forward(ctx.ports.eth1)`.
   */
  ports: Record<string, Port>;
  /** Times the module was reloaded before this setup (0 on first load). */
  generation: number;
  /** A line in the daemon's log, tagged with the queue. */
  log(message: string): void;
}
