/**
 * What a handler returns for a packet. Forwarding verdicts are made by
 * `packet.forward(port)` (2 + the target port's index in the shared UMEM).
 */
export const Verdict = {
  /** The frame goes back to the fill ring. */
  Drop: 0,
  /** The frame, as edited in place, goes back out of the port it came in on. */
  Tx: 1,
  /**
   * The frame, as edited, goes to the kernel's network stack as if it had
   * just been received on its interface (sockets, routing, conntrack and
   * `tcpdump` there see a normal arrival). Batched: one syscall per batch.
   */
  Pass: 255,
} as const;

export type Verdict = number;

/** First verdict value that means "forward"; must match afxdp-core. */
export const VERDICT_FORWARD_BASE = 2;
