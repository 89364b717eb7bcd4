/** The daemon's steering pieces that need no privileges: --steer parsing, interface-wide counters, metrics, status lines, control requests. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRunArgs, parseSteerOption } from '../../ts/cli/commands/run.js';
import type { CliError } from '../../ts/cli/exit-codes.js';
import { createMetrics } from '../../ts/daemon/metrics.js';
import { parseLogLine, steeringLogLine, steeringRows, steeringTerminalLine } from '../../ts/daemon/status-view.js';
import { checkRequest } from '../../ts/daemon/control.js';
import type { WorkerStats } from '../../ts/daemon/protocol.js';
import type { PortStats } from '../../ts/port.js';

test('--steer: an expression, a rule set as JSON, --config; syntax errors are usage errors with a caret', () => {
  const s = parseRunArgs(['h.ts', '-i', 'eth0', '--steer', 'udp dst port 9']);
  assert.ok(s !== 'help');
  assert.equal(s.steer!.default, 'pass');
  assert.equal(s.steer!.rules[0]!.name, 'udp dst port 9');
  assert.equal(s.steer!.rules[0]!.action, 'steer');
  const none = parseRunArgs(['h.ts', '-i', 'eth0']);
  assert.ok(none !== 'help' && none.steer === undefined, 'no --steer: the program steers everything');
  assert.throws(() => parseSteerOption('udp dst prot 9'), (e: CliError) =>
    e.exitCode === 2 && e.message === "--steer: bad steer expression: unknown primitive 'prot' (expected host, net, port, portrange or an address) at offset 8 (see --help)\n  udp dst prot 9\n          ^^^^");
  const set = parseSteerOption('{"rules":[{"match":{"kind":"proto","value":17},"action":"drop"}]}');
  assert.deepEqual(set, { rules: [{ match: { kind: 'proto', value: 17 }, action: 'drop' }], default: 'pass' });
  assert.throws(() => parseSteerOption('{"rules":[{"action":"jump"}]}'), (e: CliError) => e.exitCode === 2);
  assert.throws(() => parseSteerOption('{"rules":'), (e: CliError) => e.exitCode === 2 && /valid JSON/.test(e.message));
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-steer-'));
  try {
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ handler: 'h.ts', interface: 'eth0', steer: { rules: [{ match: { kind: 'ip', version: 6 }, action: 'steer' }], default: 'drop' } }));
    const c = parseRunArgs(['--config', cfg]);
    assert.ok(c !== 'help');
    assert.equal(c.steer!.default, 'drop');
    writeFileSync(cfg, JSON.stringify({ handler: 'h.ts', interface: 'eth0', steer: 'tcp dst port 22' }));
    const flagWins = parseRunArgs(['--config', cfg, '--steer', 'udp']);
    assert.ok(flagWins !== 'help');
    assert.equal(flagWins.steer!.rules[0]!.name, 'udp');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function steering(steered: number, passed: number): PortStats['steering'] {
  return {
    steeredPackets: steered, passedPackets: passed, droppedPackets: 5, blocked: 3, offloadHits: 2, noSocket: 1, malformed: 0,
    rules: [
      { rule: 0, name: 'udp dst port 9', action: 'steer', packets: steered, bytes: steered * 60 },
      { rule: -1, action: 'pass', packets: passed, bytes: passed * 100 },
    ],
  };
}

/** Two workers (queues 0 and 1) on eth0: both report the interface's same steering counters. */
function stats(steered: number, passed: number): WorkerStats[] {
  const xdp = { rxDropped: 0, rxInvalidDescs: 0, txInvalidDescs: 0, rxRingFull: 0, rxFillRingEmptyDescs: 0, txRingEmptyDescs: 0 };
  return [0, 1].map((queue) => ({
    queue,
    ports: [{
      interface: 'eth0', queue, rx: 1, tx: 0, dropped: 1, forwarded: 0, sent: 0, passed: 0, passFailed: 0, handlerErrors: 0, invalidVerdicts: 0, txRingFullDrops: 0, xdp,
      frames: { fillRing: 10, rxRing: 0, handler: 0, txRing: 0, completionRing: 0 }, attachMode: 'native', zeroCopy: false, busyPoll: false, txBudget: 2048, multiBuffer: false,
      steering: steering(steered, passed),
    }],
    batches: [],
    handler: { calls: 1, errors: 0, generation: 0, reloadFailures: 0 },
  }));
}

test('steering metrics: per interface (not summed over queues), per rule with the default as rule="default"', async () => {
  const m = createMetrics({ collect: async () => stats(300, 40) });
  await m.refresh();
  const text = await m.registry.metrics();
  assert.match(text, /^afxdp_xdp_steered_packets_total\{interface="eth0"\} 300$/m);
  assert.match(text, /^afxdp_xdp_passed_packets_total\{interface="eth0"\} 40$/m);
  assert.match(text, /^afxdp_xdp_dropped_packets_total\{interface="eth0"\} 5$/m);
  assert.match(text, /^afxdp_xdp_blocked_packets_total\{interface="eth0"\} 3$/m);
  assert.match(text, /^afxdp_xdp_offload_hits_total\{interface="eth0"\} 2$/m);
  assert.match(text, /^afxdp_xdp_no_socket_packets_total\{interface="eth0"\} 1$/m);
  assert.match(text, /^afxdp_xdp_malformed_packets_total\{interface="eth0"\} 0$/m);
  assert.match(text, /^afxdp_rule_packets_total\{interface="eth0",rule="0",name="udp dst port 9",action="steer"\} 300$/m);
  assert.match(text, /^afxdp_rule_packets_total\{interface="eth0",rule="default",name="default",action="pass"\} 40$/m);
  assert.match(text, /^afxdp_rule_bytes_total\{interface="eth0",rule="0",name="udp dst port 9",action="steer"\} 18000$/m);
  assert.match(text, /^# TYPE afxdp_rule_packets_total counter$/m);
});

test('steering status: one line per interface, rates between snapshots, parseable log lines', () => {
  const [r] = steeringRows(stats(300, 40), stats(100, 40), 2);
  assert.ok(r);
  assert.equal(steeringRows(stats(300, 40), null, 0).length, 1, 'one row per interface, not per queue');
  assert.equal(r.steered, 300);
  assert.equal(r.steeredPps, 100);
  assert.equal(r.passedPps, 0);
  const line = steeringLogLine(r, new Date(0));
  assert.equal(line, '1970-01-01T00:00:00.000Z eth0/xdp steered=300 passed=40 dropped=5 blocked=3 offload_hits=2 no_socket=1 malformed=0 steered_pps=100');
  assert.equal(parseLogLine(line)?.queue, 'xdp');
  assert.equal(parseLogLine(line)?.steered, '300');
  assert.match(steeringTerminalLine(r), /^eth0 xdp +steered +100\/s passed +0\/s dropped +0\/s \(blocked 3\) offload-hits 2 no-socket 1$/);
});

test('control requests from the socket are checked', () => {
  assert.deepEqual(checkRequest({ op: 'block', interface: 'eth0', prefix: '198.51.100.0/24', ttl: 60 }),
    { op: 'block', interface: 'eth0', prefix: '198.51.100.0/24', ttl: 60 });
  assert.deepEqual(checkRequest({ op: 'unblock', interface: 'eth0', prefix: '2001:db8::/32' }), { op: 'unblock', interface: 'eth0', prefix: '2001:db8::/32' });
  assert.deepEqual(checkRequest({ op: 'blocked', interface: 'eth0' }), { op: 'blocked', interface: 'eth0' });
  for (const bad of [null, {}, { op: 'block', interface: 'eth0' }, { op: 'block', interface: 'eth0', prefix: 'x', ttl: -1 }, { op: 'rm', interface: 'eth0' }]) {
    assert.throws(() => checkRequest(bad), (e: CliError) => e.exitCode === 2, JSON.stringify(bad));
  }
});

test('block, unblock, blocked: --help, and the run help names --steer', async () => {
  const { spawnSync } = await import('node:child_process');
  const bin = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'afxdp.js');
  for (const cmd of ['block', 'unblock', 'blocked']) {
    const r = spawnSync(process.execPath, [bin, cmd, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd} --help`);
    assert.match(r.stdout, /^Usage: afxdp block /, cmd);
  }
  assert.match(spawnSync(process.execPath, [bin, 'run', '--help'], { encoding: 'utf8' }).stdout, /--steer <expr>/);
  assert.match(spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' }).stdout, /block\|unblock <prefix>/);
  const missing = spawnSync(process.execPath, [bin, 'block'], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /missing the prefix/);
});
