/**
 * Sharing an interface with another XDP program, here xdp-filter (Debian's
 * xdp-tools, on libxdp). afxdp cannot join a libxdp dispatcher yet, and on
 * kernels that refuse freplace programs libxdp builds no dispatcher at all
 * and attaches xdp-filter alone. What must hold either way: neither side
 * breaks the other. afxdp refuses an interface xdp-filter holds, naming it
 * and the command that removes it, and xdp-filter keeps filtering; with
 * afxdp attached, xdp-filter is refused and afxdp keeps steering.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { open, Verdict, type Lab } from '../../ts/index.js';
import { udpFrame } from '../helpers/frames.js';
import { peer, pingWorks, requirePrivileges, until, withLab } from '../helpers/priv.js';
import { Daemon, runCli } from '../helpers/cli.js';

/** xdp-filter in the dut namespace; its pins go to a bpffs of our own (LIBXDP_BPFFS). */
class XdpFilter {
  readonly bpffs = mkdtempSync(join(tmpdir(), 'afxdp-bpffs-'));
  #mounted = false;

  constructor(private readonly lab: Lab) {
    const m = spawnSync('mount', ['-t', 'bpf', 'bpf', this.bpffs], { encoding: 'utf8' });
    if (m.status !== 0) throw new Error(`mount -t bpf: ${m.stderr}`);
    this.#mounted = true;
  }

  run(args: string[]): { status: number | null; output: string } {
    // xdp-filter takes a host-wide lock file; another run holding it for a
    // moment is not a failure of ours, so try again a few times.
    for (let attempt = 0; ; attempt++) {
      const r = spawnSync('ip', ['netns', 'exec', this.lab.dut.ns, 'env', `LIBXDP_BPFFS=${this.bpffs}`, 'xdp-filter', ...args], { encoding: 'utf8' });
      const output = `${r.stdout}${r.stderr}`;
      if (r.error) throw r.error;
      if (/lock/i.test(output) && r.status !== 0 && attempt < 50) {
        spawnSync('sleep', ['0.1']);
        continue;
      }
      return { status: r.status, output };
    }
  }

  ok(args: string[]): string {
    const r = this.run(args);
    assert.equal(r.status, 0, `xdp-filter ${args.join(' ')}: ${r.output}`);
    return r.output;
  }

  dispose(): void {
    this.run(['unload', '--all']);
    if (this.#mounted) spawnSync('umount', [this.bpffs]);
    rmSync(this.bpffs, { recursive: true, force: true });
  }
}

function haveXdpFilter(t: TestContext): boolean {
  if (spawnSync('xdp-filter', ['help']).error) {
    if (process.env.CI === 'true') throw new Error('xdp-filter (Debian package xdp-tools) is missing');
    t.skip('xdp-filter (xdp-tools) is not installed');
    return false;
  }
  return true;
}

function frames(lab: Lab, count: number): Uint8Array[] {
  return Array.from({ length: count }, (_, seed) => udpFrame({
    length: 100, dstMac: lab.dut.mac, srcMac: lab.peer.mac, srcIp: lab.peer.ipv4, dstIp: lab.dut.ipv4, srcPort: 4000, dstPort: 9, seed,
  }));
}

test('xdp-filter first: open is refused naming it, doctor says how to remove it, xdp-filter keeps filtering', async (t) => {
  if (!requirePrivileges(t) || !haveXdpFilter(t)) return;
  await withLab({}, async (lab) => {
    const filter = new XdpFilter(lab);
    try {
      filter.ok(['load', lab.dut.ifname]);
      const id = lab.xdpProgramId(lab.dut);
      assert.notEqual(id, null);
      assert.ok(pingWorks(lab), 'xdp-filter passes what it has no rule for');
      // Deny everything from the peer's address.
      filter.ok(['ip', lab.peer.ipv4, '--mode', 'src']);
      assert.equal(pingWorks(lab), false, 'xdp-filter drops the denied address');

      await assert.rejects(open({ interface: lab.dut.ifname }), (err: any) => {
        assert.equal(err.code, 'ERR_XDP_PROGRAM_BUSY', err.message);
        assert.match(err.message, /xdpfilt_/);
        assert.match(err.message, new RegExp(`xdp-filter unload ${lab.dut.ifname}`));
        return true;
      });
      assert.equal(lab.xdpProgramId(lab.dut), id, 'the refused open left xdp-filter in place');
      assert.equal(pingWorks(lab), false, 'xdp-filter still drops the denied address');
      assert.match(filter.ok(['status']), new RegExp(`${lab.peer.ipv4.replace(/\./g, '\\.')}\\s+src\\s+[1-9]`), 'its hit counter counted the drops');

      const doctor = await runCli(['doctor', '-i', lab.dut.ifname, '--no-probe'], { ns: lab.dut.ns });
      assert.equal(doctor.code, 5, doctor.stdout);
      assert.match(doctor.stdout, /xdpfilt_\w+ \(id \d+, native mode, attached through netlink\)/);
      assert.match(doctor.stdout, new RegExp(`xdp-filter unload ${lab.dut.ifname}`));

      filter.ok(['unload', lab.dut.ifname]);
      assert.equal(lab.xdpProgramId(lab.dut), null);
      assert.ok(pingWorks(lab));
    } finally {
      filter.dispose();
    }
  });
});

test('afxdp first: xdp-filter is refused and afxdp keeps steering; after close xdp-filter loads', async (t) => {
  if (!requirePrivileges(t) || !haveXdpFilter(t)) return;
  await withLab({}, async (lab) => {
    const filter = new XdpFilter(lab);
    try {
      const port = await open({ interface: lab.dut.ifname });
      let seen = 0;
      const loop = port.run(() => {
        seen++;
        return Verdict.Drop;
      });
      const ours = lab.xdpProgramId(lab.dut);
      const refused = filter.run(['load', lab.dut.ifname]);
      assert.notEqual(refused.status, 0, `xdp-filter load should be refused: ${refused.output}`);
      assert.equal(lab.xdpProgramId(lab.dut), ours, 'the steering program stays');

      const sent = frames(lab, 50);
      await peer(lab, { send: sent });
      assert.ok(await until(() => seen === sent.length), `handler saw ${seen} of ${sent.length}`);
      await port.close();
      await loop;

      assert.ok(await until(() => lab.xdpProgramId(lab.dut) === null));
      filter.ok(['load', lab.dut.ifname]);
      assert.notEqual(lab.xdpProgramId(lab.dut), null);
    } finally {
      filter.dispose();
    }
  });
});

test('a SIGKILLed afxdp daemon leaves the interface to xdp-filter, which then loads and filters', async (t) => {
  if (!requirePrivileges(t) || !haveXdpFilter(t)) return;
  await withLab({}, async (lab) => {
    const filter = new XdpFilter(lab);
    const daemon = new Daemon(['run', 'examples/reflector.ts', '-i', lab.dut.ifname, '--quiet'], lab.dut.ns);
    try {
      await daemon.ready();
      assert.notEqual(filter.run(['load', lab.dut.ifname]).status, 0, 'refused while the daemon runs');
      await daemon.stop('SIGKILL');
      // The bpf_link goes with the process, however it dies.
      assert.ok(await until(() => lab.xdpProgramId(lab.dut) === null), 'the steering program outlived SIGKILL');
      filter.ok(['load', lab.dut.ifname]);
      filter.ok(['ip', lab.peer.ipv4, '--mode', 'src']);
      assert.equal(pingWorks(lab), false, 'xdp-filter drops the denied address');
    } finally {
      await daemon.kill();
      filter.dispose();
    }
  });
});
