/**
 * The daemon against its host (issue 10): its interface deleted, its link
 * going down and up, a metrics port already taken, a stale state file of a
 * dead daemon met by a non-root client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peer, requirePrivileges } from '../helpers/priv.js';
import { variedUdpFrames } from '../helpers/frames.js';
import { Daemon, runCli, withLabAndDir } from '../helpers/cli.js';

const SWAP = `import { Verdict, type Packet } from 'afxdp';
export default function (packet: Packet) { packet.swapMacs(); return Verdict.Tx; }
`;

/** A generous hang guard: the daemon should exit within about a second. */
const EXIT_GUARD_MS = 10_000;

function returned(captured: Uint8Array[]): number {
  return captured.filter((f) => f[0] === 0x02 && f[5] === 0x02 && f[11] === 0x01).length;
}

/** `afxdp_link_up{interface=...}` from the daemon's metrics, scraped inside namespace `ns`. */
function linkUp(ns: string, url: string, ifname: string): number | null {
  const text = execFileSync('ip', ['netns', 'exec', ns, 'curl', '-sf', url], { encoding: 'utf8' });
  const m = new RegExp(`^afxdp_link_up\\{interface="${ifname}"\\} (\\d)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

async function eventually(cond: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

test('the interface deleted under the daemon: logged, exit 4, state file removed', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab, dir) => {
    const handler = join(dir, 'swap.mts');
    writeFileSync(handler, SWAP);
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--status-interval', '0'], lab.dut.ns);
    try {
      await d.ready();
      execFileSync('ip', ['-n', lab.dut.ns, 'link', 'del', lab.dut.ifname]);
      const guard = new Promise<'hung'>((r) => setTimeout(() => r('hung'), EXIT_GUARD_MS).unref());
      const r = await Promise.race([d.done, guard]);
      assert.notEqual(r, 'hung', `still running ${EXIT_GUARD_MS / 1000} s after the interface was deleted:\n${d.stderr}`);
      const res = r as Awaited<Daemon['done']>;
      assert.equal(res.code, 4, res.stderr);
      assert.match(res.stderr, new RegExp(`^afxdp: ${lab.dut.ifname} disappeared$`, 'm'));
      assert.match(res.stderr, /stopped \(exit 4\)/);
      assert.ok(!existsSync(`/run/afxdp/${d.child.pid}.json`), 'state file removed');
    } finally {
      await d.kill();
    }
  });
});

test('--wait-for-interface: a daemon restarted after its interface was deleted waits for it and serves it again', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'swap.mts');
    writeFileSync(handler, SWAP);
    const args = ['run', handler, '-i', lab.dut.ifname, '--status-interval', '0', '--wait-for-interface'];
    const first = new Daemon(args, lab.dut.ns);
    let second: Daemon | null = null;
    try {
      await first.ready();
      execFileSync('ip', ['-n', lab.dut.ns, 'link', 'del', lab.dut.ifname]);
      assert.equal((await first.done).code, 4, 'deleted while running: exit 4 (a restart brings it back)');
      // What a restart does: waits for the interface instead of exiting 4.
      second = new Daemon(args, lab.dut.ns);
      await second.waitFor(new RegExp(`afxdp: waiting for ${lab.dut.ifname} to appear`));
      execFileSync('ip', ['-n', lab.dut.ns, 'link', 'add', lab.dut.ifname, 'type', 'veth', 'peer', 'name', lab.peer.ifname, 'netns', lab.peer.ns]);
      for (const end of [lab.dut, lab.peer]) {
        execFileSync('ip', ['-n', end.ns, 'link', 'set', end.ifname, 'address', end.mac, 'up']);
      }
      await second.ready();
      const frames = variedUdpFrames(50, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      const res = await peer(lab, { send: frames, capture: true, expect: frames.length });
      assert.equal(returned(res.captured), frames.length, 'the new interface is served');
      const r = await second.stop('SIGTERM');
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await first.kill();
      await second?.kill();
    }
  });
});

test('link down and up: logged, afxdp_link_up follows, traffic resumes without a restart', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'swap.mts');
    writeFileSync(handler, SWAP);
    const d = new Daemon(['run', handler, '-i', lab.dut.ifname, '--status-interval', '0', '--metrics', '0'], lab.dut.ns);
    try {
      await d.ready();
      const url = `${(await d.waitFor(/metrics at (http:\/\/\S+)/))[1]}`;
      assert.equal(linkUp(lab.dut.ns, url, lab.dut.ifname), 1);
      // The peer end down: the daemon's end loses its carrier.
      execFileSync('ip', ['-n', lab.peer.ns, 'link', 'set', lab.peer.ifname, 'down']);
      await d.waitFor(new RegExp(`afxdp: ${lab.dut.ifname} link down`));
      assert.ok(await eventually(() => linkUp(lab.dut.ns, url, lab.dut.ifname) === 0), 'gauge 0 while down');
      execFileSync('ip', ['-n', lab.peer.ns, 'link', 'set', lab.peer.ifname, 'up']);
      await d.waitFor(new RegExp(`afxdp: ${lab.dut.ifname} link up`));
      assert.ok(await eventually(() => linkUp(lab.dut.ns, url, lab.dut.ifname) === 1), 'gauge 1 again');
      const frames = variedUdpFrames(100, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      const res = await peer(lab, { send: frames, capture: true, expect: frames.length });
      assert.equal(returned(res.captured), frames.length, 'every frame handled after the flap');
      assert.doesNotMatch(d.stderr, /restarting the worker/);
      const r = await d.stop('SIGTERM');
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await d.kill();
    }
  });
});

test('--metrics on a port in use: exit 5 before anything is attached or "running" said', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const handler = join(dir, 'swap.mts');
    writeFileSync(handler, SWAP);
    const holder = spawn('ip', ['netns', 'exec', lab.dut.ns, 'python3', '-c',
      'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\ntime.sleep(120)'],
    { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<string>((resolve) => holder.stdout.once('data', (b) => resolve(String(b).trim())));
      // Watch for the program being attached at any moment of the run.
      let attachedSeen = false;
      const poll = setInterval(() => {
        if (lab.xdpProgramId(lab.dut) !== null) attachedSeen = true;
      }, 20);
      const r = await runCli(['run', handler, '-i', lab.dut.ifname, '--metrics', port], { ns: lab.dut.ns, timeoutMs: 30_000 });
      clearInterval(poll);
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /cannot serve metrics on 127\.0\.0\.1:\d+: .*address already in use/i);
      assert.doesNotMatch(r.stderr + r.stdout, /afxdp: running /);
      assert.equal(attachedSeen, false, 'no XDP program was ever attached');
      assert.equal(lab.xdpProgramId(lab.dut), null);
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

test('a non-root client meeting a stale state file of a dead daemon: exit 6 with a message; root reaps it', async (t) => {
  if (!requirePrivileges(t)) return;
  const stateDir = mkdtempSync(join(tmpdir(), 'afxdp-state-'));
  try {
    chmodSync(stateDir, 0o755);
    // Owned by another user: a client without CAP_DAC_OVERRIDE (root with
    // every capability dropped, as a non-root user would be) cannot remove
    // files in it. (The client runs as uid 0 so that it can read a checkout
    // under a 0700 directory.)
    chownSync(stateDir, 65534, 65534);
    // A pid that is certainly dead: a process that has exited.
    const pid = spawnSync('true').pid!;
    const stale = join(stateDir, `${pid}.json`);
    writeFileSync(stale, JSON.stringify({ pid, interfaces: ['afx0'], queues: [0], netns: 'net:[1]' }));
    writeFileSync(join(stateDir, `${pid}.sock`), '');
    const env = { AFXDP_STATE_DIR: stateDir };
    const r = await runCli(['block', '198.51.100.0/24', '--pid', String(pid)], { env, unprivileged: true });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, new RegExp(`no afxdp daemon with pid ${pid} is running.*run afxdp as root`));
    assert.doesNotMatch(r.stderr, /EACCES|\n\s+at /, 'a message, not a stack');
    assert.ok(existsSync(stale), 'a non-root user cannot remove it');
    // The next command run as root removes the dead daemon's files.
    const s = await runCli(['status'], { env });
    assert.ok(!existsSync(stale), `reaped by \`afxdp status\` as root (exit ${s.code}: ${s.stderr})`);
    assert.ok(!existsSync(join(stateDir, `${pid}.sock`)));
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
});
