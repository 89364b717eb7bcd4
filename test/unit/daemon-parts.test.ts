/** The daemon's small parts that need no privileges: options, lifecycle, watchdog, reload queue, deadlines. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunArgs } from '../../ts/cli/commands/run.js';
import type { CliError } from '../../ts/cli/exit-codes.js';
import { Lifecycle } from '../../ts/daemon/lifecycle.js';
import { Watchdog } from '../../ts/daemon/watchdog.js';
import { ReloadQueue } from '../../ts/daemon/reload-queue.js';
import { DeadlineError, within } from '../../ts/daemon/deadline.js';
import type { WorkerSlot } from '../../ts/daemon/worker-slot.js';

test('a --metrics host that is not loopback needs --metrics-public', () => {
  assert.throws(() => parseRunArgs(['h.ts', '-i', 'eth0', '--metrics', '0.0.0.0:9464']), (e: CliError) => e.exitCode === 2 && /--metrics-public/.test(e.message));
  const s = parseRunArgs(['h.ts', '-i', 'eth0', '--metrics', '0.0.0.0:9464', '--metrics-public']);
  assert.ok(s !== 'help' && s.metrics?.host === '0.0.0.0');
  for (const ok of ['9464', '127.0.0.2:1', '[::1]:1', 'localhost:1']) assert.ok(parseRunArgs(['h.ts', '-i', 'eth0', '--metrics', ok]) !== 'help');
});

test('--stall-timeout, --reload-timeout, --max-restarts: defaults and validation', () => {
  const s = parseRunArgs(['h.ts', '-i', 'eth0']);
  assert.ok(s !== 'help');
  assert.deepEqual([s.stallTimeout, s.reloadTimeout, s.maxRestarts], [1, 10, 3]);
  const t = parseRunArgs(['h.ts', '-i', 'eth0', '--stall-timeout', '0.25', '--reload-timeout', '2', '--max-restarts', '0']);
  assert.ok(t !== 'help');
  assert.deepEqual([t.stallTimeout, t.reloadTimeout, t.maxRestarts], [0.25, 2, 0]);
  for (const bad of ['0', '-1', 'x']) {
    assert.throws(() => parseRunArgs(['h.ts', '-i', 'eth0', '--stall-timeout', bad]), (e: CliError) => e.exitCode === 2);
  }
});

test('lifecycle: transitions logged once; nothing but stopped after stopping', () => {
  const lines: string[] = [];
  const l = new Lifecycle((x) => lines.push(x));
  l.to('running');
  l.to('running');
  l.to('degraded', 'queue 0 handler stalled');
  l.to('stopping');
  l.to('running');
  l.to('stopped');
  assert.deepEqual(lines, ['state starting -> running', 'state running -> degraded: queue 0 handler stalled', 'state degraded -> stopping', 'state stopping -> stopped']);
});

test('watchdog: a heartbeat that stops moving is reported once, after the stall time', () => {
  const beat = new Int32Array(new SharedArrayBuffer(4));
  const slot = { ready: true, stopping: false, gone: false, beat, queue: 0 } as unknown as WorkerSlot;
  const stalls: number[] = [];
  const w = new Watchdog(1000, () => [slot], (_s, ms) => stalls.push(ms));
  try {
    w.check(0);
    Atomics.add(beat, 0, 1);
    w.check(900); // moved: fresh
    w.check(1800);
    assert.deepEqual(stalls, []);
    w.check(1900);
    w.check(5000);
    assert.deepEqual(stalls, [1000]);
  } finally {
    w.close();
  }
});

test('reload queue: one at a time, requests during one coalesce into one more', async () => {
  const runs: string[] = [];
  let release!: () => void;
  const q = new ReloadQueue(async (why) => {
    runs.push(why);
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
  });
  q.request('a');
  q.request('b');
  q.request('c');
  assert.deepEqual(runs, ['a']);
  release();
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(runs, ['a', 'c']);
});

test('within: a promise that never settles is given up on', async () => {
  await assert.rejects(within(new Promise(() => undefined), 20, 'setup()'), (e: DeadlineError) => e instanceof DeadlineError && e.message === 'setup() did not settle within 0.0 s');
  assert.equal(await within(Promise.resolve(3), 1000, 'x'), 3);
});
