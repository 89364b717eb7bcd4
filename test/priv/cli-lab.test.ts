/** `afxdp lab up|down|traffic|demo` as child processes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { requirePrivileges } from '../helpers/priv.js';
import { Daemon, runCli, finalTotals, sum } from '../helpers/cli.js';

function namespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter(Boolean);
}

test('lab up creates a named lab, lab traffic reaches a handler run in it, lab down removes it', async (t) => {
  if (!requirePrivileges(t)) return;
  const name = `t${process.pid}`;
  const dut = `afxdp-${name}-dut`;
  const peerNs = `afxdp-${name}-peer`;
  try {
    const up = await runCli(['lab', 'up', '--name', name, '--queues', '2']);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stdout, new RegExp(`ip netns exec ${dut} .*afxdp run examples/reflector.ts --interface afx0`));
    assert.ok(namespaces().includes(dut) && namespaces().includes(peerNs), 'namespaces outlive the command');
    const again = await runCli(['lab', 'up', '--name', name]);
    assert.equal(again.code, 5);
    assert.match(again.stderr, /already up/);

    const d = new Daemon(['run', 'examples/reflector.ts', '-i', 'afx0', '--status-interval', '0'], dut);
    try {
      await d.ready();
      const traffic = await runCli(['lab', 'traffic', '--name', name, '--seconds', '1', '--rate', '2000']);
      assert.equal(traffic.code, 0, traffic.stderr);
      const m = /sent (\d+) frames .* (\d+) came back/.exec(traffic.stdout);
      assert.ok(m, traffic.stdout);
      assert.ok(Number(m[1]) > 0);
      assert.equal(Number(m[2]), Number(m[1]), 'the reflector sent every frame back');
      const r = await d.stop();
      assert.equal(r.code, 0, r.stderr);
      const totals = finalTotals(r.stdout);
      assert.equal(sum(totals, 'tx'), Number(m[1]));
      for (const [q, rec] of totals) assert.ok(rec.rx! > 0, `traffic on ${q}`);
    } finally {
      await d.kill();
    }

    const down = await runCli(['lab', 'down', '--name', name]);
    assert.equal(down.code, 0, down.stderr);
    assert.ok(!namespaces().includes(dut) && !namespaces().includes(peerNs));
  } finally {
    for (const ns of [dut, peerNs]) if (namespaces().includes(ns)) execFileSync('ip', ['netns', 'del', ns]);
  }
});

test('lab demo runs the reflector under traffic and removes its lab', async (t) => {
  if (!requirePrivileges(t)) return;
  const before = namespaces().filter((n) => n.startsWith('afxdp-demo'));
  const r = await runCli(['lab', 'demo', '--seconds', '1', '--rate', '5000']);
  assert.equal(r.code, 0, r.stderr);
  const m = /sent (\d+) frames .* (\d+) came back; daemon exited 0/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.equal(m[2], m[1]);
  assert.match(r.stderr, /lab removed/);
  assert.deepEqual(namespaces().filter((n) => n.startsWith('afxdp-demo')), before);
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`a process killed by ${signal} (no handler of its own) removes its labs and still dies of the signal`, async (t) => {
    if (!requirePrivileges(t)) return;
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/lab-hold.ts'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let names: string[] = [];
    try {
      names = await new Promise<string[]>((resolve, reject) => {
        let out = '';
        child.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('\n')) resolve(out.trim().split(' '));
        });
        child.on('exit', (code) => reject(new Error(`exited ${code} before its lab was up`)));
      });
      assert.ok(names.every((n) => namespaces().includes(n)), 'the lab is up');
      const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, sig) => r(sig)));
      child.kill(signal);
      assert.equal(await exited, signal, 'the default outcome of the signal is kept');
      assert.deepEqual(names.filter((n) => namespaces().includes(n)), [], 'no namespace left behind');
    } finally {
      child.kill('SIGKILL');
      for (const n of names.filter((x) => namespaces().includes(x))) execFileSync('ip', ['netns', 'del', n]);
    }
  });
}
