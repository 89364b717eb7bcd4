/** The daemon's Prometheus endpoint: valid text, counters that match the frames sent, loopback by default. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { enterNetns } from '../../ts/index.js';
import { peer, requirePrivileges } from '../helpers/priv.js';
import { variedUdpFrames } from '../helpers/frames.js';
import { Daemon, finalTotals, withLabAndDir } from '../helpers/cli.js';

function fetchText(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    }).on('error', reject);
  });
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parse the Prometheus text format strictly enough to catch a malformed line. */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        assert.match(meta[3]!, /^(counter|gauge|histogram|summary|untyped)$/, line);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|[Nn][Aa][Nn]|[+-]?[Ii]nf)(?: \d+)?$/.exec(line);
    assert.ok(m, `malformed exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function total(samples: Sample[], name: string): number {
  return samples.filter((s) => s.name === name).reduce((n, s) => n + s.value, 0);
}

test('metrics: valid Prometheus text whose counters match the frames sent', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab, dir) => {
    const handler = join(dir, 'drop.mts');
    writeFileSync(handler, 'export default function () { return 0; }\n');
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--metrics', '0', '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      const [, url] = await d.waitFor(/metrics at (http:\/\/\S+)/);
      assert.match(url!, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'loopback unless asked otherwise');
      enterNetns(lab.dut.ns); // this thread's sockets now reach the daemon's loopback

      const empty = parseExposition((await fetchText(url!)).body);
      assert.equal(total(empty.samples, 'afxdp_rx_packets_total'), 0);

      const frames = variedUdpFrames(250, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      const sent = await peer(lab, { send: frames });
      assert.equal(sent.sent, frames.length);
      let res = await fetchText(url!);
      let parsed = parseExposition(res.body);
      // Frames sent are counted once the daemon has pulled them off the ring.
      for (let i = 0; i < 50 && total(parsed.samples, 'afxdp_rx_packets_total') < frames.length; i++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await fetchText(url!);
        parsed = parseExposition(res.body);
      }
      assert.equal(res.status, 200);
      assert.match(res.type, /^text\/plain; version=0\.0\.4/);
      const { samples, types } = parsed;
      assert.equal(total(samples, 'afxdp_rx_packets_total'), frames.length);
      assert.equal(total(samples, 'afxdp_dropped_packets_total'), frames.length);
      assert.equal(total(samples, 'afxdp_tx_packets_total'), 0);
      assert.equal(total(samples, 'afxdp_handler_calls_total'), frames.length);
      assert.equal(total(samples, 'afxdp_handler_errors_total'), 0);
      assert.equal(types.get('afxdp_rx_packets_total'), 'counter');
      assert.equal(types.get('afxdp_xdp_rx_fill_ring_empty_descs_total'), 'counter');
      assert.equal(total(samples, 'afxdp_up'), 1);
      const queues = samples.filter((s) => s.name === 'afxdp_rx_packets_total').map((s) => `${s.labels.interface}/${s.labels.queue}`).sort();
      assert.deepEqual(queues, ['afx0/0', 'afx0/1']);
      const info = samples.filter((s) => s.name === 'afxdp_port_info');
      assert.ok(info.every((s) => s.labels.attach_mode === 'native' && s.labels.zero_copy === 'false'));
      assert.ok(samples.some((s) => s.name === 'afxdp_frames' && s.labels.state === 'fillRing'));

      // Handler time per batch, per port: consistent with the frames sent.
      assert.equal(types.get('afxdp_handler_batch_seconds'), 'histogram');
      assert.equal(types.get('afxdp_handler_batches_total'), 'counter');
      const batches = total(samples, 'afxdp_handler_batches_total');
      assert.ok(batches >= 1 && batches <= frames.length, `${batches} batches for ${frames.length} frames`);
      assert.equal(total(samples, 'afxdp_handler_batch_frames_total'), frames.length, 'the batches hold every frame received');
      assert.equal(total(samples, 'afxdp_handler_batch_seconds_count'), batches);
      assert.ok(total(samples, 'afxdp_handler_batch_seconds_sum') > 0);
      for (const q of queues) {
        const [ifname, queue] = q.split('/');
        const of = (name: string) => samples.filter((s) => s.name === name && s.labels.interface === ifname && s.labels.queue === queue);
        const one = (name: string) => {
          const found = of(name);
          assert.equal(found.length, 1, `${name} ${q}`);
          return found[0]!.value;
        };
        assert.equal(one('afxdp_handler_batch_frames_total'), one('afxdp_rx_packets_total'), `${q}: frames in batches == rx`);
        const count = one('afxdp_handler_batch_seconds_count');
        assert.equal(count, one('afxdp_handler_batches_total'), q);
        assert.ok(count <= one('afxdp_rx_packets_total'), `${q}: no more batches than frames`);
        const buckets = of('afxdp_handler_batch_seconds_bucket');
        assert.equal(buckets.at(-1)!.labels.le, '+Inf');
        assert.equal(buckets.at(-1)!.value, count, `${q}: the +Inf bucket holds every batch`);
        for (let i = 1; i < buckets.length; i++) {
          assert.ok(buckets[i]!.value >= buckets[i - 1]!.value, `${q}: cumulative buckets`);
          if (i < buckets.length - 1) assert.ok(Number(buckets[i]!.labels.le) > Number(buckets[i - 1]!.labels.le));
        }
      }
      assert.equal((await fetchText(url!.replace('/metrics', '/nope'))).status, 404);
      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      // The final status lines carry the handler time per frame since the start.
      const totals = finalTotals(r.stdout);
      assert.equal(totals.size, 2, r.stdout);
      for (const [k, rec] of totals) {
        if (rec.rx! > 0) assert.ok(rec.handler_ns! > 0, `${k}: handler_ns in ${r.stdout}`);
      }
    } finally {
      await d.kill();
    }
  });
});
