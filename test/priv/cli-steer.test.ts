/**
 * The daemon's kernel fast path: `--steer` keeps what the handler does not
 * want with the kernel stack, its counters reach the metrics and the status
 * lines, a bad expression is a usage error with a caret, and `afxdp
 * block|unblock|blocked` change a running daemon's drop list.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { enterNetns, type Lab } from '../../ts/index.js';
import { udpFrame } from '../helpers/frames.js';
import { peer, requirePrivileges } from '../helpers/priv.js';
import { Daemon, finalTotals, runCli, sum, withLabAndDir } from '../helpers/cli.js';

/** Drops every frame; a frame not to UDP port 9 is a handler error. */
const PORT9_ONLY = `export default function (p) {
  if (p.u16(12) !== 0x0800 || p.u8(23) !== 17 || p.u16(36) !== 9) throw new Error('not udp port 9');
  return 0;
}
`;

function frames(lab: Lab, count: number, dstPort: number): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => udpFrame({
    dstMac: lab.dut.mac, srcMac: lab.peer.mac, srcIp: lab.peer.ipv4, dstIp: lab.dut.ipv4,
    srcPort: 40000 + (i % 64), dstPort, length: 60 + (i % 200), seed: i,
  }));
}

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

/** Samples of `name` as [labels, value]. */
function samples(text: string, name: string): Array<[Record<string, string>, number]> {
  const out: Array<[Record<string, string>, number]> = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push([labels, Number(m[3])]);
  }
  return out;
}

const total = (text: string, name: string) => samples(text, name).reduce((n, [, v]) => n + v, 0);

/** Scrape until `done(text)` holds (the daemon pulls frames off the rings asynchronously). */
async function scrapeUntil(url: string, done: (text: string) => boolean): Promise<string> {
  let text = await fetchText(url);
  for (let i = 0; i < 100 && !done(text); i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = await fetchText(url);
  }
  return text;
}

test('--steer: UDP port 9 reaches the handler, ping stays with the kernel, counters in metrics and status lines', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab, dir) => {
    const handler = join(dir, 'port9.mjs');
    writeFileSync(handler, PORT9_ONLY);
    const state = join(dir, 'state');
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--steer', 'udp dst port 9', '--metrics', '0', '--status-interval', '0'],
      lab.dut.ns, { AFXDP_STATE_DIR: state });
    try {
      await d.ready();
      await d.waitFor(/steering to the handler: udp dst port 9/);
      const [, url] = await d.waitFor(/metrics at (http:\/\/\S+)/);
      enterNetns(lab.dut.ns);

      const sent = await peer(lab, { send: [...frames(lab, 300, 9), ...frames(lab, 200, 10)] });
      assert.equal(sent.sent, 500);
      // The kernel answers ping: execFileSync throws unless both replies come.
      lab.exec(lab.peer, 'ping', ['-c', '2', '-i', '0.2', '-W', '2', lab.dut.ipv4]);

      const text = await scrapeUntil(url!, (x) => total(x, 'afxdp_rx_packets_total') >= 300);
      assert.equal(total(text, 'afxdp_rx_packets_total'), 300, 'only the port 9 frames reached the handler');
      assert.equal(total(text, 'afxdp_handler_errors_total'), 0, 'no frame other than UDP port 9 reached the handler');
      // Interface-wide counters: one sample per interface, not one per queue.
      const steered = samples(text, 'afxdp_xdp_steered_packets_total');
      assert.deepEqual(steered, [[{ interface: lab.dut.ifname }, 300]]);
      assert.ok(total(text, 'afxdp_xdp_passed_packets_total') >= 200 + 2, 'port 10 and the pings passed');
      assert.equal(total(text, 'afxdp_xdp_dropped_packets_total'), 0);
      assert.match(text, /^# TYPE afxdp_rule_packets_total counter$/m);
      const rules = samples(text, 'afxdp_rule_packets_total');
      const rule0 = rules.find(([l]) => l.rule === '0');
      assert.deepEqual(rule0, [{ interface: lab.dut.ifname, rule: '0', name: 'udp dst port 9', action: 'steer' }, 300]);
      const dflt = rules.find(([l]) => l.rule === 'default');
      assert.ok(dflt && dflt[0].action === 'pass' && dflt[1] >= 202, `default rule: ${JSON.stringify(dflt)}`);

      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning: --steer/, 'udp dst port 9 leaves ARP and ND to the kernel');
      assert.equal(sum(finalTotals(r.stdout), 'rx'), 300, r.stdout);
      const xdp = finalTotals(r.stdout, true);
      assert.deepEqual([...xdp.keys()], [`${lab.dut.ifname}/xdp`], r.stdout);
      assert.equal(xdp.get(`${lab.dut.ifname}/xdp`)!.steered, 300);
      assert.ok(xdp.get(`${lab.dut.ifname}/xdp`)!.passed! >= 202);
      assert.equal(lab.xdpProgramId(lab.dut), null, 'detached at exit');
    } finally {
      await d.kill();
    }
  });
});

test('--steer that would take ARP or neighbour discovery from the kernel: a warning with the fix at start (issue 15)', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'port9.mjs');
    writeFileSync(handler, PORT9_ONLY);
    const expr = `host ${lab.peer.ipv4}`;
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--steer', expr, '--status-interval', '0'],
      lab.dut.ns, { AFXDP_STATE_DIR: join(dir, 'state') });
    try {
      await d.ready();
      // tcpdump's 'host' matches ARP too, and so does afxdp's: the peer's
      // ARP would reach the handler instead of the kernel.
      await d.waitFor(new RegExp(`^afxdp: warning: --steer: these rules would steer ARP frames .*use 'ip ${expr.replace(/\./g, '\\.')}'`, 'm'));
      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /neighbour discovery/, 'an IPv4 host does not match ND');
    } finally {
      await d.kill();
    }
  });
});

test('--steer with a bad expression: exit 2, a caret under the bad token, nothing attached', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'h.mjs');
    writeFileSync(handler, PORT9_ONLY);
    const expr = 'udp dst prot 9';
    const r = await runCli(['run', handler, '-i', lab.dut.ifname, '--steer', expr], { ns: lab.dut.ns });
    assert.equal(r.code, 2, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 3, r.stderr);
    assert.match(lines[0]!, /^afxdp run: --steer: bad steer expression: unknown primitive 'prot'.* at offset 8 \(see --help\)$/);
    assert.equal(lines[1], `  ${expr}`);
    assert.equal(lines[2], `  ${' '.repeat(expr.indexOf('prot'))}^^^^`, 'the caret sits under the bad token');
    assert.equal(lab.xdpProgramId(lab.dut), null, 'nothing attached');

    // The same from --config, and a rule set as JSON there.
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ handler, interface: lab.dut.ifname, steer: 'udp or (' }));
    const c = await runCli(['run', '--config', cfg], { ns: lab.dut.ns });
    assert.equal(c.code, 2, c.stderr);
    assert.match(c.stderr, /--steer: bad steer expression/);
    assert.equal(lab.xdpProgramId(lab.dut), null, 'nothing attached');
  });
});

test('afxdp block/unblock: blocked frames never reach the handler, the counter rises, unblock restores', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab, dir) => {
    const handler = join(dir, 'port9.mjs');
    writeFileSync(handler, PORT9_ONLY);
    const state = join(dir, 'state');
    mkdirSync(state);
    const env = { AFXDP_STATE_DIR: state };
    const ns = lab.dut.ns;
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--steer', 'udp dst port 9', '--metrics', '0', '--status-interval', '0'], ns, env);
    try {
      await d.ready();
      const [, url] = await d.waitFor(/metrics at (http:\/\/\S+)/);
      enterNetns(ns);
      const cli = (...args: string[]) => runCli(args, { ns, env });
      const prefix = `${lab.peer.ipv4}/32`;

      await peer(lab, { send: frames(lab, 100, 9) });
      await scrapeUntil(url!, (x) => total(x, 'afxdp_rx_packets_total') >= 100);

      const b = await cli('block', prefix, '--ttl', '600', '-i', lab.dut.ifname);
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, new RegExp(`^blocked ${prefix} on ${lab.dut.ifname} for 600 s`));
      await peer(lab, { send: frames(lab, 100, 9) });
      // The XDP program decides at receive time: once the entry counted 100, all were decided.
      const blockedText = await scrapeUntil(url!, (x) => total(x, 'afxdp_xdp_blocked_packets_total') >= 100);
      assert.equal(total(blockedText, 'afxdp_xdp_blocked_packets_total'), 100);
      assert.equal(total(blockedText, 'afxdp_rx_packets_total'), 100, 'no blocked frame reached the handler');
      const list = await cli('blocked', '--json');
      assert.equal(list.code, 0, list.stderr);
      const entries = JSON.parse(list.stdout) as Record<string, Array<{ prefix: string; packets: number; expiresIn: number | null }>>;
      assert.equal(entries[lab.dut.ifname]!.length, 1);
      assert.equal(entries[lab.dut.ifname]![0]!.prefix, prefix);
      assert.equal(entries[lab.dut.ifname]![0]!.packets, 100);
      assert.ok(entries[lab.dut.ifname]![0]!.expiresIn! > 0);

      const u = await cli('unblock', prefix); // every interface of the daemon
      assert.equal(u.code, 0, u.stderr);
      assert.match(u.stdout, /^unblocked /);
      await peer(lab, { send: frames(lab, 100, 9) });
      const after = await scrapeUntil(url!, (x) => total(x, 'afxdp_rx_packets_total') >= 200);
      assert.equal(total(after, 'afxdp_rx_packets_total'), 200, 'frames flow again once unblocked');
      assert.equal(total(after, 'afxdp_xdp_blocked_packets_total'), 100);
      assert.match((await cli('blocked')).stdout, /drop list empty/);
      assert.match((await cli('unblock', prefix)).stdout, /was not blocked/);

      // Errors: a bad prefix (2), an interface the daemon does not serve (4), no daemon (4).
      const bad = await cli('block', 'not-a-prefix');
      assert.equal(bad.code, 2, bad.stderr);
      assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
      const other = await cli('block', prefix, '-i', 'nosuch0');
      assert.equal(other.code, 4, other.stderr);
      const none = await runCli(['block', prefix], { env: { AFXDP_STATE_DIR: join(dir, 'empty') } });
      assert.equal(none.code, 4, none.stderr);
      assert.match(none.stderr, /no afxdp daemon/);

      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(finalTotals(r.stdout, true).get(`${lab.dut.ifname}/xdp`)!.blocked, 100, r.stdout);
    } finally {
      await d.kill();
    }
  });
});
