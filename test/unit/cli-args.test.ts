/** CLI pieces that need no privileges: argument parsing, exit codes, status lines, metrics text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseListen, parseQueues } from '../../ts/cli/args.js';
import { parseRunArgs } from '../../ts/cli/commands/run.js';
import { CliError, describeError, exitCodeFor } from '../../ts/cli/exit-codes.js';
import { AfxdpError } from '../../ts/errors.js';
import { logLine, parseLogLine, rows, si, terminalLine } from '../../ts/daemon/status-view.js';
import { createMetrics } from '../../ts/daemon/metrics.js';
import { loadHandlerModule } from '../../ts/handler/module.js';
import type { WorkerStats } from '../../ts/daemon/protocol.js';

const bin = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..', 'bin', 'afxdp.js');

test('queue lists', () => {
  assert.deepEqual(parseQueues('all', 4), [0, 1, 2, 3]);
  assert.deepEqual(parseQueues('2', 4), [2]);
  assert.deepEqual(parseQueues('0-1,3', 4), [0, 1, 3]);
  assert.deepEqual(parseQueues('3,1,1', 4), [1, 3]);
  assert.throws(() => parseQueues('x', 4), (e: CliError) => e.exitCode === 2);
  assert.throws(() => parseQueues('3-1', 4), /backwards/);
});

test('--metrics addresses default to loopback, never a wildcard', () => {
  assert.deepEqual(parseListen('9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListen(':9464'), { host: '127.0.0.1', port: 9464 });
  assert.deepEqual(parseListen('127.0.0.1:9'), { host: '127.0.0.1', port: 9 });
  assert.deepEqual(parseListen('[::1]:9464'), { host: '::1', port: 9464 });
  assert.deepEqual(parseListen('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 }, 'a wildcard only when asked');
  assert.throws(() => parseListen('host:99999'), /--metrics/);
});

test('run arguments: defaults, validation, --config with flags winning', () => {
  const s = parseRunArgs(['h.ts', '-i', 'eth0']);
  assert.ok(s !== 'help');
  assert.deepEqual(s.interfaces, ['eth0']);
  assert.equal(s.queueSpec, 'all');
  assert.equal(s.open.mode, 'auto');
  assert.equal(s.open.zeroCopy, 'auto');
  assert.equal(s.metrics, undefined, 'no metrics unless asked');
  assert.equal(s.open.busyPoll, undefined, 'no busy polling unless asked');
  assert.equal(s.open.spinMicros, undefined, 'no spinning unless asked');
  const tuned = parseRunArgs(['h.ts', '-i', 'eth0', '--busy-poll', '--spin-micros', '200']);
  assert.ok(tuned !== 'help');
  assert.equal(tuned.open.busyPoll, true);
  assert.equal(tuned.open.spinMicros, 200);
  assert.equal(parseRunArgs(['--help']), 'help');
  const bad: Array<[string[], RegExp]> = [
    [['h.ts'], /missing --interface/],
    [['-i', 'eth0'], /missing the handler/],
    [['h.ts', '-i', 'eth0', '--frame-size', '1000'], /2048 or 4096/],
    [['h.ts', '-i', 'eth0', '--zero-copy', 'yes'], /--zero-copy must be one of/],
    [['h.ts', '-i', 'eth0', '-i', 'eth0'], /given twice/],
    [['h.ts', '-i', 'eth0', '--sample-every', '16'], /Unknown option '--sample-every'/],
    [['h.ts', '-i', 'eth0', '--nope'], /Unknown option '--nope'/],
    [['h.ts', '-i', 'eth0', '--spin-micros', '-5'], /--spin-micros/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseRunArgs(argv), (e: CliError) => e.exitCode === 2 && re.test(e.message), argv.join(' '));

  const dir = mkdtempSync(join(tmpdir(), 'afxdp-args-'));
  try {
    const cfg = join(dir, 'c.json');
    writeFileSync(cfg, JSON.stringify({ handler: 'f.ts', interface: ['a', 'b'], queues: '0-1', mode: 'skb', metrics: '9464', quiet: true }));
    const c = parseRunArgs(['--config', cfg, '--mode', 'native']);
    assert.ok(c !== 'help');
    assert.equal(c.handler, 'f.ts');
    assert.deepEqual(c.interfaces, ['a', 'b']);
    assert.equal(c.queueSpec, '0-1');
    assert.equal(c.open.mode, 'native', 'the flag wins over the file');
    assert.equal(c.quiet, true);
    assert.deepEqual(c.metrics, { host: '127.0.0.1', port: 9464 });
    writeFileSync(cfg, JSON.stringify({ bogus: 1 }));
    assert.throws(() => parseRunArgs(['--config', cfg]), /unknown option 'bogus'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run --capture arguments: the capture options, usage errors (exit 2) before anything starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-args-'));
  try {
    const file = join(dir, 'out.pcapng');
    const s = parseRunArgs(['h.ts', '-i', 'eth0', '--capture', file, '--capture-filter', 'udp port 53', '--capture-snaplen', '128',
      '--capture-count', '1000', '--capture-rotate-bytes', '1000000', '--capture-rotate-files', '4', '--capture-buffer', '65536']);
    assert.ok(s !== 'help');
    assert.deepEqual(s.capture, { path: file, filter: 'udp port 53', snapLength: 128, maxFrames: 1000, rotateBytes: 1000000, rotateFiles: 4, bufferBytes: 65536 });
    const none = parseRunArgs(['h.ts', '-i', 'eth0']);
    assert.ok(none !== 'help' && none.capture === undefined, 'no capture unless asked');
    const bad: Array<[string[], RegExp]> = [
      [['--capture-filter', 'udp'], /--capture-filter needs --capture/],
      [['--capture', file, '--capture-filter', 'udp prot 53'], /^--capture-filter: .*\n.*\^/s],
      [['--capture', file, '--capture-snaplen', '0'], /--capture-snaplen must be an integer/],
      [['--capture', file, '--capture-buffer', '5000'], /--capture-buffer must be a power of two/],
      [['--capture', file, '--capture-rotate-files', '3'], /rotateFiles needs rotateBytes/],
      [['--capture', join(dir, 'missing', 'x.pcapng')], /cannot write .*missing: ENOENT/],
      [['--capture', dir], /is a directory/],
      [['--capture', file, '--capture-snaplen', '4294967297'], /--capture-snaplen must be an integer in 1\.\.262144/],
    ];
    for (const [argv, re] of bad) {
      assert.throws(() => parseRunArgs(['h.ts', '-i', 'eth0', ...argv]), (e: CliError) => e.exitCode === 2 && re.test(e.message), argv.join(' '));
    }
    // Stdout cannot be rotated (checked before the terminal test, which depends on where the test runs).
    assert.throws(() => parseRunArgs(['h.ts', '-i', 'eth0', '--capture', '-', '--capture-rotate-bytes', '1000']), /stdout cannot be rotated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('library error codes map to distinct exit codes with a hint', () => {
  const cases: Array<[string, number]> = [
    ['ERR_NO_SUCH_INTERFACE', 4], ['ERR_QUEUE_OUT_OF_RANGE', 4], ['ERR_XDP_PROGRAM_BUSY', 5], ['ERR_QUEUE_BUSY', 5],
    ['ERR_NOT_PERMITTED', 6], ['ERR_MEMLOCK_LIMIT', 6], ['ERR_ZEROCOPY_UNSUPPORTED', 7], ['ERR_NATIVE_MODE_UNSUPPORTED', 7],
    ['ERR_MTU_TOO_LARGE', 7], ['ERR_INVALID_OPTION', 2], ['ERR_INTERNAL', 1],
  ];
  for (const [code, exit] of cases) assert.equal(exitCodeFor(code), exit, code);
  const d = describeError(new AfxdpError('ERR_XDP_PROGRAM_BUSY', 'eth0 has an XDP program'), { interface: 'eth0' });
  assert.equal(d.exitCode, 5);
  assert.match(d.message, /^eth0 has an XDP program \[ERR_XDP_PROGRAM_BUSY\]: another XDP program is attached to eth0/);
  assert.doesNotMatch(d.message, /\n/);
});

test('handler modules: ESM, CommonJS-compiled TypeScript, setup/teardown, errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-mod-'));
  try {
    const esm = join(dir, 'a.mts');
    writeFileSync(esm, 'export function setup() {}\nexport function teardown() {}\nexport default (p: unknown) => 1;\n');
    const m = await loadHandlerModule(esm);
    assert.equal(typeof m.handler, 'function');
    assert.equal(typeof m.setup, 'function');
    assert.equal(typeof m.teardown, 'function');
    // A .ts file with no "type": "module" package.json around it still loads as ESM.
    const cjs = join(dir, 'b.ts');
    writeFileSync(cjs, 'export function setup() {}\nexport default function (p: unknown) { return 0; }\n');
    const c = await loadHandlerModule(cjs);
    assert.equal(c.handler(undefined as never), 0);
    assert.equal(typeof c.setup, 'function');
    const bad = join(dir, 'c.mts');
    writeFileSync(bad, 'export const setup = 3;\nexport default () => 0;\n');
    await assert.rejects(loadHandlerModule(bad), (e: AfxdpError) => e.code === 'ERR_HANDLER_LOAD' && /'setup' is not a function/.test(e.message));
    assert.equal(describeError(await loadHandlerModule(bad).catch((e: unknown) => e)).exitCode, 3);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a handler file anywhere can import afxdp', () => {
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-alias-'));
  try {
    const f = join(dir, 'h.ts'); // .ts outside any package: loaded as ESM all the same
    writeFileSync(f, "import { Verdict } from 'afxdp';\nexport default () => Verdict.Tx;\n");
    const pcap = join(dir, 'in.pcap');
    // One 60-byte frame in a microsecond pcap.
    const hdr = Buffer.alloc(24);
    hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6); hdr.writeUInt32LE(65535, 16); hdr.writeUInt32LE(1, 20);
    const rec = Buffer.alloc(16); rec.writeUInt32LE(60, 8); rec.writeUInt32LE(60, 12);
    writeFileSync(pcap, Buffer.concat([hdr, rec, Buffer.alloc(60)]));
    const r = spawnSync(process.execPath, [bin, 'replay', f, '--in', pcap], { encoding: 'utf8', cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /frames 1: tx 1/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Stats of one worker on eth0/0 after `rx` frames in `batches` batches that took `ns` in all (4 below 1 µs, the rest below 2.5 µs). */
function workerStats(rx: number, batches = 10, ns = 9000): WorkerStats {
  const xdp = { rxDropped: 0, rxInvalidDescs: 0, txInvalidDescs: 0, rxRingFull: 2, rxFillRingEmptyDescs: 1, txRingEmptyDescs: 0 };
  return {
    queue: 0,
    ports: [{
      interface: 'eth0', queue: 0, rx, tx: rx - 1, dropped: 1, forwarded: 0, sent: 0, handlerErrors: 0, invalidVerdicts: 0, txRingFullDrops: 0, xdp,
      frames: { fillRing: 10, rxRing: 0, handler: 0, txRing: 0, completionRing: 0 }, attachMode: 'native', zeroCopy: false, busyPoll: false, txBudget: 2048, multiBuffer: false,
    } as WorkerStats['ports'][number]],
    batches: [{ interface: 'eth0', queue: 0, batches, frames: rx, handlerNs: ns, buckets: [4, batches - 4, ...new Array<number>(12).fill(0)] }],
    handler: { calls: rx, errors: 0, generation: 0, reloadFailures: 0 },
  };
}

test('status rows and log lines', () => {
  const r = rows([workerStats(300, 10, 9000)], [workerStats(100, 5, 1000)], 2);
  assert.equal(r[0]!.rxPps, 100);
  assert.equal(r[0]!.handlerNsPerPacket, 40, 'handler time per frame over the interval: 8000 ns / 200 frames');
  const line = logLine(r[0]!, new Date(0));
  assert.equal(line, '1970-01-01T00:00:00.000Z eth0/0 rx=300 tx=299 fwd=0 pass=0 drop=1 err=0 rx_pps=100 handler_ns=40 fill_empty=1 rx_full=2 rx_dropped=0');
  assert.deepEqual(parseLogLine(line)?.rx, '300');
  assert.match(terminalLine(r[0]!), / rx 300 handler   40 ns\/pkt ! fill-empty 1 /);
  assert.equal(rows([workerStats(300, 10, 9000)], null, 0)[0]!.handlerNsPerPacket, 30, 'without a previous snapshot: since the start');
  const idle = rows([workerStats(300)], [workerStats(300)], 1)[0]!;
  assert.ok(Number.isNaN(idle.handlerNsPerPacket));
  assert.match(logLine(idle), / handler_ns=- /, 'no frame in the interval: no time per frame');
  assert.equal(si(1234567), '1.23M');
  assert.equal(si(999), '999');
});

test('metrics text from worker stats', async () => {
  const m = createMetrics({ collect: async () => [workerStats(42)] });
  await m.refresh();
  const text = await m.registry.metrics();
  assert.match(text, /^afxdp_rx_packets_total\{interface="eth0",queue="0"\} 42$/m);
  assert.match(text, /^# TYPE afxdp_rx_packets_total counter$/m);
  assert.match(text, /^afxdp_xdp_rx_ring_full_total\{interface="eth0",queue="0"\} 2$/m);
  assert.match(text, /^# TYPE afxdp_handler_batch_seconds histogram$/m);
  assert.match(text, /^afxdp_handler_batch_seconds_bucket\{interface="eth0",queue="0",le="0.000001"\} 4$/m);
  assert.match(text, /^afxdp_handler_batch_seconds_bucket\{interface="eth0",queue="0",le="0.0000025"\} 10$/m);
  assert.match(text, /^afxdp_handler_batch_seconds_bucket\{interface="eth0",queue="0",le="0.1"\} 10$/m);
  assert.match(text, /^afxdp_handler_batch_seconds_bucket\{interface="eth0",queue="0",le="\+Inf"\} 10$/m);
  assert.match(text, /^afxdp_handler_batch_seconds_sum\{interface="eth0",queue="0"\} 0.000009$/m);
  assert.match(text, /^afxdp_handler_batch_seconds_count\{interface="eth0",queue="0"\} 10$/m);
  assert.match(text, /^afxdp_handler_batches_total\{interface="eth0",queue="0"\} 10$/m);
  assert.match(text, /^afxdp_handler_batch_frames_total\{interface="eth0",queue="0"\} 42$/m);
  assert.doesNotMatch(text, /timed/);
  assert.match(text, /^afxdp_up 1$/m);
  const failing = createMetrics({ collect: async () => { throw new Error('gone'); } });
  await failing.refresh();
  assert.match(await failing.registry.metrics(), /^afxdp_up 0$/m);
});

test('the afxdp command: --help, --version, unknown command', () => {
  const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /Exit codes:/);
  for (const cmd of ['run', 'doctor', 'status', 'lab', 'replay', 'bench']) {
    const r = spawnSync(process.execPath, [bin, cmd, '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `${cmd} --help`);
    assert.match(r.stdout, /^Usage: afxdp /, cmd);
  }
  assert.match(spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).stdout, /^afxdp \d+\.\d+\.\d+/);
  const none = spawnSync(process.execPath, [bin], { encoding: 'utf8' });
  assert.equal(none.status, 2);
  const unknown = spawnSync(process.execPath, [bin, 'frob'], { encoding: 'utf8' });
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'frob'/);
});
