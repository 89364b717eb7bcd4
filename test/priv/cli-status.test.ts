/** `afxdp status`: the lab's steering program with its counters, and the daemon with its own. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peer, requirePrivileges } from '../helpers/priv.js';
import { variedUdpFrames } from '../helpers/frames.js';
import { Daemon, runCli, withLabAndDir } from '../helpers/cli.js';
import type { Attachment } from '../../ts/cli/commands/status.js';
import type { DaemonState } from '../../ts/daemon/state-file.js';

async function status(): Promise<{ programs: Attachment[]; daemons: DaemonState[] }> {
  const r = await runCli(['status', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test('status lists the attached program per interface and the running daemon, with counters', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab) => {
    const d = new Daemon(['run', 'examples/reflector.ts', '-i', lab.dut.ifname, '--quiet'], lab.dut.ns);
    try {
      await d.ready();
      const frames = variedUdpFrames(120, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      await peer(lab, { send: frames, capture: true, expect: frames.length });

      const mine = (s: { programs: Attachment[] }) => s.programs.find((a) => a.netns === lab.dut.ns && a.interface === lab.dut.ifname);
      let s = await status();
      const prog = mine(s);
      assert.ok(prog, `program in ${lab.dut.ns} listed: ${JSON.stringify(s.programs)}`);
      assert.equal(prog.programId, lab.xdpProgramId(lab.dut));
      assert.equal(prog.mode, 'driver');
      assert.ok(prog.counters!.steeredPackets >= frames.length, 'every frame was steered to AF_XDP');

      // The daemon's state file is refreshed every second.
      let daemonRx = 0;
      for (let i = 0; i < 50; i++) {
        s = await status();
        const me = s.daemons.find((x) => x.pid === d.child.pid);
        daemonRx = me ? me.ports.reduce((n, p) => n + p.rx, 0) : 0;
        if (daemonRx >= frames.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      const me = s.daemons.find((x) => x.pid === d.child.pid)!;
      assert.ok(me, 'daemon listed');
      assert.equal(me.netnsName, lab.dut.ns);
      assert.deepEqual(me.ports.map((p) => `${p.interface}/${p.queue}`).sort(), ['afx0/0', 'afx0/1']);
      assert.ok(daemonRx >= frames.length);

      const text = await runCli(['status']);
      assert.match(text.stdout, new RegExp(`${lab.dut.ns}\\s+afx0\\s+prog ${prog.programId}`));
      assert.match(text.stdout, new RegExp(`daemon pid ${d.child.pid} `));
      assert.equal((await d.stop()).code, 0);
    } finally {
      await d.kill();
    }
    const after = await status();
    assert.equal(after.programs.find((a) => a.netns === lab.dut.ns), undefined, 'gone after the daemon stopped');
    assert.equal(after.daemons.find((x) => x.pid === d.child.pid), undefined);
  });
});
