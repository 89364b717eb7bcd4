/**
 * A simple traffic source for the lab: sends UDP frames out of an interface
 * with an AF_XDP port (no raw sockets, no extra tools) and counts the frames
 * that come back. Used by `afxdp lab demo`, `afxdp lab traffic` and as the
 * fallback generator of `afxdp bench`.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { open, type Port } from '../../port.js';
import { Verdict } from '../../verdict.js';
import { buildUdp } from '../../packet/build.js';

export interface TrafficOptions {
  interface: string;
  srcMac: string;
  dstMac: string;
  srcIp: string;
  dstIp: string;
  /** Seconds to send for. */
  seconds: number;
  /** Frames per second; 0 sends as fast as the port takes them. */
  rate: number;
  /** Distinct UDP flows (source ports), spread by RSS on real NICs (default 64). */
  flows?: number;
  /** Frame length in bytes, 60..1514 (default 64). */
  frameLength?: number;
  /** Send from this many queues (0..n-1) of the interface (default 1); on a veth each lands on the same queue of the other end. */
  queues?: number;
  /** UDP destination port (default 9, discard). */
  dstPort?: number;
  /** Called about every second with the counts so far. */
  onProgress?: (sent: number, received: number) => void;
  signal?: AbortSignal;
}

export interface TrafficResult {
  sent: number;
  received: number;
  seconds: number;
}

/** UDP frames of `length` bytes from `flows` source ports. */
export function udpFlows(o: Pick<TrafficOptions, 'srcMac' | 'dstMac' | 'srcIp' | 'dstIp' | 'flows' | 'frameLength' | 'dstPort'>): Uint8Array[] {
  const length = o.frameLength ?? 64;
  const payload = new Uint8Array(Math.max(0, length - 42));
  const frames: Uint8Array[] = [];
  for (let i = 0; i < (o.flows ?? 64); i++) {
    for (let j = 0; j < payload.length; j++) payload[j] = (i + j) & 0xff;
    frames.push(buildUdp({
      srcMac: o.srcMac, dstMac: o.dstMac, src: o.srcIp, dst: o.dstIp,
      srcPort: 40000 + i, dstPort: o.dstPort ?? 9, payload, minLength: 60,
    }));
  }
  return frames;
}

/** Send for `seconds` from a port on `interface` (of this thread's namespace); counts replies. */
export async function sendTraffic(o: TrafficOptions): Promise<TrafficResult> {
  const frames = udpFlows(o);
  const ports: Port[] = [];
  let received = 0;
  const count = () => {
    received++;
    return Verdict.Drop;
  };
  const loops: Promise<void>[] = [];
  try {
    for (let q = 0; q < (o.queues ?? 1); q++) {
      const port = await open({ interface: o.interface, queue: q });
      ports.push(port);
      loops.push(port.run(count));
    }
  } catch (err) {
    for (const p of ports) await p.close();
    throw err;
  }
  let sent = 0;
  const start = performance.now();
  const end = start + o.seconds * 1000;
  let nextProgress = start + 1000;
  try {
    let i = 0;
    while (!o.signal?.aborted) {
      const now = performance.now();
      if (now >= end) break;
      if (now >= nextProgress) {
        nextProgress += 1000;
        o.onProgress?.(sent, received);
      }
      // Frames due by now at the asked rate (a burst of 64 when unlimited).
      const due = o.rate > 0 ? Math.min(256, Math.floor(((now - start) / 1000) * o.rate) - sent) : 64;
      let n = 0;
      for (; n < due; n++) {
        if (!ports[n % ports.length]!.send(frames[i]!)) break;
        i = (i + 1) % frames.length;
      }
      sent += n;
      for (const p of ports) p.flush();
      if (n < due || o.rate > 0) await new Promise((r) => setTimeout(r, o.rate > 0 ? 1 : 0));
      else await yieldToEventLoop();
    }
    // Let the last replies arrive.
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    for (const p of ports) await p.close();
    await Promise.allSettled(loops);
  }
  return { sent, received, seconds: (performance.now() - start) / 1000 };
}
