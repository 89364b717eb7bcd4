/** `afxdp doctor` describes the lab veth correctly, and exits as `run` would. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requirePrivileges } from '../helpers/priv.js';
import { Daemon, runCli, withLabAndDir } from '../helpers/cli.js';
import type { DoctorReport } from '../../ts/cli/commands/doctor.js';

test('doctor describes the lab veth: driver, queues, MTU, native XDP, no zero-copy', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab) => {
    const r = await runCli(['doctor', '-i', lab.dut.ifname, '--json'], { ns: lab.dut.ns });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const report = JSON.parse(r.stdout) as DoctorReport;
    assert.equal(report.driver, 'veth');
    assert.equal(report.queues, 2);
    assert.equal(report.mtu, 1500);
    assert.equal(report.nativeXdp, true);
    assert.equal(report.zeroCopy, false, 'veth has no AF_XDP zero-copy');
    assert.equal(report.multiBuffer, true, 'Linux >= 6.6 veth takes AF_XDP multi-buffer in copy mode');
    assert.ok(report.maxMtu !== null && report.maxMtu >= 9000, `largest MTU ${report.maxMtu}`);
    assert.equal(report.xdpProgram, null);
    assert.equal(report.exitCode, 0);
    assert.ok(report.checks.every((c) => c.status !== 'fail'));
    assert.equal(lab.xdpProgramId(lab.dut), null, 'the probe leaves nothing attached');

    const text = await runCli(['doctor', '-i', lab.dut.ifname], { ns: lab.dut.ns });
    assert.equal(text.code, 0);
    assert.match(text.stdout, /driver veth/);
    assert.match(text.stdout, /2 RX queues/);
    assert.match(text.stdout, /can start on this interface/);
  });
});

test('doctor exits as run would: busy 5, missing 4, no privileges 6; a jumbo MTU is taken with multi-buffer', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab) => {
    assert.equal((await runCli(['doctor', '-i', 'nosuch0'], { ns: lab.dut.ns })).code, 4);
    assert.equal((await runCli(['doctor'], { ns: lab.dut.ns })).code, 2);

    const d = new Daemon(['run', 'examples/reflector.ts', '-i', lab.dut.ifname, '--quiet'], lab.dut.ns);
    try {
      await d.ready();
      const r = await runCli(['doctor', '-i', lab.dut.ifname], { ns: lab.dut.ns });
      assert.equal(r.code, 5, r.stdout);
      assert.match(r.stdout, /afxdp's steering program .* is attached/);
    } finally {
      await d.kill();
    }

    // MTU 9000 does not fit one 4 KiB frame: ports open multi-buffer, which
    // this kernel (>= 6.6) and veth take. (Exit 7 remains for kernels or
    // drivers that refuse it; none here to test against.)
    lab.exec(lab.dut, 'ip', ['link', 'set', 'dev', lab.dut.ifname, 'mtu', '9000']);
    const mtu = await runCli(['doctor', '-i', lab.dut.ifname], { ns: lab.dut.ns });
    assert.equal(mtu.code, 0, mtu.stdout);
    assert.match(mtu.stdout, /MTU 9000: frames up to 9022 bytes span 3 4096-byte UMEM frames/);
    assert.match(mtu.stdout, /multi-buffer works: jumbo frames up to MTU \d+/);
    lab.exec(lab.dut, 'ip', ['link', 'set', 'dev', lab.dut.ifname, 'mtu', '1500']);

    const nobody = await runCli(['doctor', '-i', lab.dut.ifname, '--no-probe'], { ns: lab.dut.ns, unprivileged: true });
    assert.equal(nobody.code, 6, nobody.stdout);
    assert.match(nobody.stdout, /missing CAP_NET_ADMIN/);
  });
});
