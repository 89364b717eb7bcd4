/**
 * Watches the interfaces the daemon serves through rtnetlink link events
 * (RTM_NEWLINK / RTM_DELLINK, crates/afxdp-core/src/link_watch.rs): an
 * interface deleted, or its link going down or up (administratively or the
 * carrier). The netlink socket is non-blocking and read from a timer on the
 * main thread, so an event is noticed within `pollMs`.
 */
import { binding } from '../native.js';

export interface LinkEvents {
  /** The interface was deleted (or never reported by the kernel after start). */
  gone(ifname: string): void;
  /** Its link went up or down (IFF_UP and carrier both, or not). */
  link(ifname: string, up: boolean): void;
}

interface Tracked {
  ifindex: number | null;
  up: boolean | null;
  gone: boolean;
}

export class LinkMonitor {
  readonly #watch: InstanceType<typeof binding.NativeLinkWatch>;
  readonly #tracked = new Map<string, Tracked>();
  readonly #events: LinkEvents;
  readonly #timer: NodeJS.Timeout;
  readonly #startedAt = performance.now();

  constructor(interfaces: string[], events: LinkEvents, pollMs = 100) {
    this.#watch = new binding.NativeLinkWatch();
    for (const name of interfaces) this.#tracked.set(name, { ifindex: null, up: null, gone: false });
    this.#events = events;
    this.#timer = setInterval(() => this.poll(), pollMs);
    this.poll();
  }

  /** Whether `ifname`'s link is up (undefined before the kernel said). */
  up(ifname: string): boolean | undefined {
    return this.#tracked.get(ifname)?.up ?? undefined;
  }

  /** Every served interface with its link state so far. */
  links(): Array<{ interface: string; up: boolean }> {
    return [...this.#tracked].filter(([, t]) => t.up !== null).map(([name, t]) => ({ interface: name, up: t.up! }));
  }

  poll(): void {
    for (const e of this.#watch.drain()) {
      for (const [name, t] of this.#tracked) {
        if (t.gone) continue;
        // Matched by index once known: a deleted interface's RTM_DELLINK
        // carries its name too, but an index also survives a rename.
        const mine = t.ifindex === null ? e.ifname === name && !e.deleted : t.ifindex === e.ifindex;
        if (!mine) continue;
        if (e.deleted) {
          t.gone = true;
          this.#events.gone(name);
          continue;
        }
        t.ifindex = e.ifindex;
        const up = e.adminUp && e.carrier;
        const before = t.up;
        t.up = up;
        if (before !== null && before !== up) this.#events.link(name, up);
      }
    }
    // The dump asked for at open answers within milliseconds: an interface
    // missing from it after a second was deleted before the watch began.
    if (performance.now() - this.#startedAt > 1000) {
      for (const [name, t] of this.#tracked) {
        if (t.ifindex === null && !t.gone) {
          t.gone = true;
          this.#events.gone(name);
        }
      }
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.#watch.close();
  }
}
