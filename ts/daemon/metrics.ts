/**
 * Prometheus metrics of the daemon, served over HTTP with prom-client.
 * Every scrape asks the workers for fresh counters first, so the numbers
 * are current, not up to a status tick old.
 */
import { createServer, type Server } from 'node:http';
import client from 'prom-client';
import type { CaptureStats } from '../capture/index.js';
import type { PortStats } from '../port.js';
import { BATCH_NS_BOUNDS, type BatchTiming, type WorkerStats } from './protocol.js';
import { steeringByInterface } from './status-view.js';
import { STATES } from './lifecycle.js';

type Steering = PortStats['steering'];

/** Interface-wide counters of the XDP program, labelled by interface only. */
const STEERING_COUNTERS: Array<[name: string, help: string, get: (k: Steering) => number]> = [
  ['afxdp_xdp_steered_packets_total', 'Frames the XDP program redirected to AF_XDP (to the handler).', (k) => k.steeredPackets],
  ['afxdp_xdp_passed_packets_total', 'Frames the XDP program passed to the kernel stack (rules, default action, offloaded pass, no socket).', (k) => k.passedPackets],
  ['afxdp_xdp_dropped_packets_total', 'Frames the XDP program dropped (drop rules, the drop list, offloaded drop).', (k) => k.droppedPackets],
  ['afxdp_xdp_blocked_packets_total', 'Of the dropped: by the kernel drop list (afxdp block, port.kernel.block).', (k) => k.blocked],
  ['afxdp_xdp_offload_hits_total', 'Frames given their verdict by an offloaded flow (packet.offload).', (k) => k.offloadHits],
  ['afxdp_xdp_no_socket_packets_total', 'Of the passed: meant for AF_XDP, but no socket was bound on their queue.', (k) => k.noSocket],
  ['afxdp_xdp_malformed_packets_total', 'Frames whose headers were truncated or unparseable (never steered on them).', (k) => k.malformed],
];

type PortCounter = [name: string, help: string, get: (s: PortStats) => number];

const PORT_COUNTERS: PortCounter[] = [
  ['afxdp_rx_packets_total', 'Frames received and handed to the handler.', (s) => s.rx],
  ['afxdp_tx_packets_total', 'Frames sent back out of the port they came in on (Tx verdict).', (s) => s.tx],
  ['afxdp_forwarded_packets_total', 'Frames forwarded to another port (forward verdict).', (s) => s.forwarded],
  ['afxdp_dropped_packets_total', 'Frames dropped (Drop verdicts, handler errors, invalid verdicts, full TX ring).', (s) => s.dropped],
  ['afxdp_sent_packets_total', 'Frames injected with port.send().', (s) => s.sent],
  ['afxdp_passed_total', 'Frames handed to the kernel stack by Verdict.Pass.', (s) => s.passed],
  ['afxdp_pass_failed_total', 'Pass verdicts that could not be delivered (counted as dropped).', (s) => s.passFailed],
  ['afxdp_handler_errors_total', 'Handler calls that threw or returned no verdict (the frame was dropped).', (s) => s.handlerErrors],
  ['afxdp_tx_ring_full_drops_total', 'Frames dropped because the TX ring was full.', (s) => s.txRingFullDrops],
  ['afxdp_xdp_rx_dropped_total', 'XDP_STATISTICS rx_dropped: frames the kernel dropped for this socket.', (s) => s.xdp.rxDropped],
  ['afxdp_xdp_rx_invalid_descs_total', 'XDP_STATISTICS rx_invalid_descs.', (s) => s.xdp.rxInvalidDescs],
  ['afxdp_xdp_tx_invalid_descs_total', 'XDP_STATISTICS tx_invalid_descs.', (s) => s.xdp.txInvalidDescs],
  ['afxdp_xdp_rx_ring_full_total', 'XDP_STATISTICS rx_ring_full: the RX ring was full (the handler falls behind).', (s) => s.xdp.rxRingFull],
  ['afxdp_xdp_rx_fill_ring_empty_descs_total', 'XDP_STATISTICS rx_fill_ring_empty_descs: no free frame to receive into.', (s) => s.xdp.rxFillRingEmptyDescs],
  ['afxdp_xdp_tx_ring_empty_descs_total', 'XDP_STATISTICS tx_ring_empty_descs.', (s) => s.xdp.txRingEmptyDescs],
];

const BATCH_COUNTERS: Array<[string, string, (b: BatchTiming) => number]> = [
  ['afxdp_handler_batches_total', 'Batches of frames handed to the handler.', (b) => b.batches],
  ['afxdp_handler_batch_frames_total', 'Frames in the batches handed to the handler (afxdp_handler_batch_seconds_sum / this = handler time per frame).', (b) => b.frames],
];

export interface MetricsSource {
  /** Fresh counters from every worker. */
  collect(): Promise<WorkerStats[]>;
  /** The daemon's state, its workers and links (read after `collect`). */
  health?(): DaemonHealth;
  /** --capture: the writer's counters (the capture metrics exist only with it). */
  capture?(): CaptureStats;
}

export interface DaemonHealth {
  /** One of ts/daemon/lifecycle.ts STATES. */
  state: string;
  /** Whether every worker answered the last collect. */
  fresh: boolean;
  workers: Array<{ queue: number; up: boolean; restarts: number }>;
  links: Array<{ interface: string; up: boolean }>;
}

export interface DaemonMetrics {
  registry: client.Registry;
  /** Fetch fresh counters (call before `registry.metrics()`: prom-client collects metrics concurrently). */
  refresh(): Promise<void>;
}

export function createMetrics(source: MetricsSource): DaemonMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  let latest: WorkerStats[] = [];
  const up = new client.Gauge({
    name: 'afxdp_up',
    help: 'Whether every worker is up and answered this scrape with fresh counters (1), or not (0: a worker is stalled, crashed or restarting; its last known counters are shown).',
    registers: [registry],
  });
  const refresh = async () => {
    try {
      latest = await source.collect();
      const h = source.health?.();
      up.set(!h || (h.fresh && h.workers.every((w) => w.up)) ? 1 : 0);
    } catch {
      up.set(0);
    }
  };
  if (source.health) healthMetrics(registry, source.health.bind(source));
  if (source.capture) captureMetrics(registry, source.capture.bind(source));
  const ports = () => latest.flatMap((w) => w.ports);
  const labels = (s: PortStats) => ({ interface: s.interface, queue: String(s.queue) });
  portCounters(registry, PORT_COUNTERS, ports);
  new client.Gauge({
    name: 'afxdp_frames',
    help: 'UMEM frames of the port by where they are now (fill ring, rx ring, handler, tx ring, completion ring).',
    labelNames: ['interface', 'queue', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of ports()) {
        for (const [state, n] of Object.entries(s.frames)) this.set({ ...labels(s), state }, n);
      }
    },
  });
  new client.Gauge({
    name: 'afxdp_port_info',
    help: 'Always 1; the labels say how the port runs.',
    labelNames: ['interface', 'queue', 'attach_mode', 'zero_copy'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of ports()) this.set({ ...labels(s), attach_mode: s.attachMode, zero_copy: String(s.zeroCopy) }, 1);
    },
  });
  const perWorker: Array<[string, string, 'counter' | 'gauge', (w: WorkerStats) => number]> = [
    ['afxdp_handler_calls_total', 'Handler calls on this queue (all interfaces).', 'counter', (w) => w.handler.calls],
    ['afxdp_handler_generation', 'How many reloads of the handler module took effect.', 'gauge', (w) => w.handler.generation],
    ['afxdp_handler_reload_failures_total', 'Reloads that failed (the previous handler kept running).', 'counter', (w) => w.handler.reloadFailures],
  ];
  for (const [name, help, type, get] of perWorker) {
    const config = {
      name,
      help,
      labelNames: ['queue'],
      registers: [registry],
    };
    if (type === 'counter') {
      new client.Counter({ ...config, collect() { this.reset(); for (const w of latest) this.inc({ queue: String(w.queue) }, get(w)); } });
    } else {
      new client.Gauge({ ...config, collect() { this.reset(); for (const w of latest) this.set({ queue: String(w.queue) }, get(w)); } });
    }
  }
  // The steering program's counters belong to the interface: taken from one
  // port per interface, never summed over its queues.
  const steering = () => steeringByInterface(latest);
  for (const [name, help, get] of STEERING_COUNTERS) {
    new client.Counter({
      name,
      help,
      labelNames: ['interface'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [ifname, k] of steering()) this.inc({ interface: ifname }, get(k));
      },
    });
  }
  const ruleSeries: Array<[string, string, 'packets' | 'bytes']> = [
    ['afxdp_rule_packets_total', 'Frames each steering rule decided (rule="default": no rule matched), since the rule set was set.', 'packets'],
    ['afxdp_rule_bytes_total', 'Bytes of the frames each steering rule decided (rule="default": no rule matched).', 'bytes'],
  ];
  for (const [name, help, field] of ruleSeries) {
    new client.Counter({
      name,
      help,
      labelNames: ['interface', 'rule', 'name', 'action'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [ifname, k] of steering()) {
          for (const r of k.rules) {
            const rule = r.rule < 0 ? 'default' : String(r.rule);
            this.inc({ interface: ifname, rule, name: r.name ?? (r.rule < 0 ? 'default' : ''), action: r.action }, r[field]);
          }
        }
      },
    });
  }
  const batches = () => latest.flatMap((w) => w.batches);
  portCounters(registry, BATCH_COUNTERS, batches);
  registry.registerMetric(batchHistogram(batches) as unknown as client.Metric);
  return { registry, refresh };
}

/** --capture: what the writer wrote, filtered out, and what the rings dropped. */
function captureMetrics(registry: client.Registry, stats: () => CaptureStats): void {
  const series: Array<[string, string, (s: CaptureStats) => number]> = [
    ['afxdp_capture_written_total', 'Frames written to the capture (received and sent records).', (s) => s.written],
    ['afxdp_capture_written_bytes_total', 'Frame bytes written to the capture.', (s) => s.bytes],
    ['afxdp_capture_filtered_total', 'Frames left out by --capture-filter.', (s) => s.filtered],
    ['afxdp_capture_dropped_total', 'Capture records dropped because the writer fell behind (the data path never waits for it).', (s) => s.dropped],
  ];
  for (const [name, help, get] of series) {
    new client.Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(get(stats())); } });
  }
}

/** The daemon's lifecycle state, each worker's health and each interface's link. */
function healthMetrics(registry: client.Registry, health: () => DaemonHealth): void {
  new client.Gauge({
    name: 'afxdp_state',
    help: 'The daemon\'s state: 1 for the current one (starting, running, reloading, degraded, stopping, stopped), 0 for the others.',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.reset();
      const now = health().state;
      for (const state of STATES) this.set({ state }, state === now ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'afxdp_worker_up',
    help: 'Whether the worker of this queue runs (1), or is stalled, crashed or restarting (0).',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of health().workers) this.set({ queue: String(w.queue) }, w.up ? 1 : 0);
    },
  });
  new client.Counter({
    name: 'afxdp_worker_restarts_total',
    help: 'Times the supervisor restarted the worker of this queue (after a stall or a crash).',
    labelNames: ['queue'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of health().workers) this.inc({ queue: String(w.queue) }, w.restarts);
    },
  });
  new client.Gauge({
    name: 'afxdp_link_up',
    help: 'Whether the interface\'s link is up (administratively up with a carrier), from rtnetlink link events.',
    labelNames: ['interface'],
    registers: [registry],
    collect() {
      this.reset();
      for (const l of health().links) this.set({ interface: l.interface }, l.up ? 1 : 0);
    },
  });
}

/** Counters labelled by interface and queue, one sample per row of `series()` (fresh at every scrape). */
function portCounters<T extends { interface: string; queue: number }>(
  registry: client.Registry,
  counters: Array<[name: string, help: string, get: (s: T) => number]>,
  series: () => T[],
): void {
  for (const [name, help, get] of counters) {
    new client.Counter({
      name,
      help,
      labelNames: ['interface', 'queue'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of series()) this.inc({ interface: s.interface, queue: String(s.queue) }, get(s));
      },
    });
  }
}

const BATCH_SECONDS = 'afxdp_handler_batch_seconds';
const BATCH_LE = BATCH_NS_BOUNDS.map((ns) => ns / 1e9);

/**
 * The histogram of handler time per batch. The workers keep the bucket
 * counts themselves (plain numbers, no prom-client on the hot path), so this
 * metric exposes their counts as they are, through the interface the
 * registry calls (`get`), instead of re-observing every batch in a
 * prom-client Histogram.
 */
function batchHistogram(source: () => BatchTiming[]) {
  const help = 'Time the handler took per batch of frames, in seconds (all the handler calls of one batch).';
  const get = async () => {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const b of source()) {
      const labels = { interface: b.interface, queue: String(b.queue) };
      let cumulative = 0;
      for (let i = 0; i < BATCH_LE.length; i++) {
        cumulative += b.buckets[i] ?? 0;
        values.push({ metricName: `${BATCH_SECONDS}_bucket`, labels: { ...labels, le: BATCH_LE[i]! }, value: cumulative });
      }
      values.push({ metricName: `${BATCH_SECONDS}_bucket`, labels: { ...labels, le: '+Inf' }, value: b.batches });
      values.push({ metricName: `${BATCH_SECONDS}_sum`, labels, value: b.handlerNs / 1e9 });
      values.push({ metricName: `${BATCH_SECONDS}_count`, labels, value: b.batches });
    }
    return { name: BATCH_SECONDS, help, type: 'histogram', aggregator: 'sum', values };
  };
  return { name: BATCH_SECONDS, help, type: 'histogram', aggregator: 'sum', get, reset: () => undefined };
}

/** Serve `metrics` on http://host:port/metrics. Resolves once listening. */
export function serveMetrics(metrics: DaemonMetrics, host: string, port: number): Promise<Server> {
  const { registry } = metrics;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || (path !== '/metrics' && path !== '/')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    metrics.refresh().then(() => registry.metrics()).then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
