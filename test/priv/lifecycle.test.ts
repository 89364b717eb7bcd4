/**
 * Lifecycle and errors: closing (and SIGKILL) detaches the program and
 * gives the interface back to the kernel stack; every open error carries
 * its stable code and leaves nothing attached.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { open, type Lab } from '../../ts/index.js';
import { NO_CAPABILITIES, pingWorks, requirePrivileges, until, withLab } from '../helpers/priv.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

/** Run the open-port fixture in the dut namespace, optionally as an unprivileged user. */
function childOpen(lab: Lab, options: object, extra: { stay?: boolean; unprivileged?: boolean } = {}) {
  const node = [process.execPath, '--import', 'tsx', join(fixtures, 'open-port.ts'), JSON.stringify(options)];
  if (extra.stay) node.push('stay');
  const drop = extra.unprivileged
    ? NO_CAPABILITIES
    : [];
  return spawn('ip', ['netns', 'exec', lab.dut.ns, ...drop, ...node], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function firstLine(child: ReturnType<typeof spawn>): Promise<Record<string, any>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
    });
    child.on('exit', (code) => reject(new Error(`child exited (${code}) before reporting: ${buf}`)));
  });
}

test('close() detaches the program and the kernel stack answers ping again', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    assert.ok(pingWorks(lab), 'ping works before');
    const port = await open({ interface: lab.dut.ifname });
    assert.notEqual(lab.xdpProgramId(lab.dut), null);
    // Everything is steered to the (idle) socket: the stack no longer answers.
    assert.equal(pingWorks(lab), false);
    await port.close();
    assert.equal(lab.xdpProgramId(lab.dut), null);
    assert.ok(pingWorks(lab), 'ping works after close');
  });
});

test('SIGKILL of the process detaches the program (bpf_link)', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const child = childOpen(lab, { interface: lab.dut.ifname }, { stay: true });
    try {
      const line = await firstLine(child);
      assert.equal(line.ready, true, JSON.stringify(line));
      assert.notEqual(lab.xdpProgramId(lab.dut), null);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    assert.ok(await until(() => lab.xdpProgramId(lab.dut) === null), 'program still attached after SIGKILL');
    assert.ok(pingWorks(lab), 'ping works after SIGKILL');
  });
});

async function expectOpenError(lab: Lab, options: Parameters<typeof open>[0], code: string): Promise<void> {
  await assert.rejects(open(options), (err: any) => {
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    assert.ok(err instanceof Error && err.message.length > 10);
    return true;
  });
  assert.equal(lab.xdpProgramId(lab.dut), null, `a failed open (${code}) left a program attached`);
}

test('open errors carry stable codes and leave nothing attached', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const ifname = lab.dut.ifname;
    await expectOpenError(lab, { interface: 'afxnope0' }, 'ERR_NO_SUCH_INTERFACE');
    await expectOpenError(lab, { interface: ifname, queue: 3 }, 'ERR_QUEUE_OUT_OF_RANGE');
    await expectOpenError(lab, { interface: ifname, frameSize: 1000 as 2048 }, 'ERR_INVALID_FRAME_SIZE');
    await expectOpenError(lab, { interface: ifname, frames: 1000 }, 'ERR_INVALID_FRAME_COUNT');
    await assert.rejects(open({ interface: ifname, zeroCopy: true }), (err: any) => {
      assert.equal(err.code, 'ERR_ZEROCOPY_UNSUPPORTED');
      assert.equal(err.syscall, 'bind(AF_XDP, XDP_ZEROCOPY)');
      assert.equal(typeof err.errno, 'number');
      return true;
    });
    assert.equal(lab.xdpProgramId(lab.dut), null);
    // Still fine afterwards: a good open works and reports copy mode on veth.
    const port = await open({ interface: ifname, zeroCopy: 'auto' });
    assert.equal(port.stats().zeroCopy, false);
    await port.close();
  });
});

test('native mode refuses an MTU that does not fit the frame size with multi-buffer off; by default it opens multi-buffer', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({ mtu: 3000 }, async (lab) => {
    await expectOpenError(lab, { interface: lab.dut.ifname, mode: 'native', frameSize: 2048, multiBuffer: false }, 'ERR_MTU_TOO_LARGE');
    await using port = await open({ interface: lab.dut.ifname, mode: 'native', frameSize: 2048 });
    assert.equal(port.stats().multiBuffer, true);
  });
});

test('an interface carrying a foreign XDP program is refused, the program untouched', async (t) => {
  if (!requirePrivileges(t)) return;
  const dir = mkdtempSync(join(tmpdir(), 'afxdp-foreign-'));
  try {
    writeFileSync(join(dir, 'foreign.c'), [
      '#include <linux/bpf.h>',
      '__attribute__((section("xdp"), used)) int foreign_pass(struct xdp_md *ctx) { return XDP_PASS; }',
      'char _license[] __attribute__((section("license"), used)) = "GPL";',
    ].join('\n'));
    const multiarch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
    execFileSync('clang', ['-O2', '-target', 'bpf', `-I/usr/include/${multiarch}`, '-c', join(dir, 'foreign.c'), '-o', join(dir, 'foreign.o')]);
    await withLab({}, async (lab) => {
      lab.exec(lab.dut, 'ip', ['link', 'set', 'dev', lab.dut.ifname, 'xdpgeneric', 'obj', join(dir, 'foreign.o'), 'sec', 'xdp']);
      const foreign = lab.xdpProgramId(lab.dut);
      assert.notEqual(foreign, null);
      await assert.rejects(open({ interface: lab.dut.ifname }), (err: any) => {
        assert.equal(err.code, 'ERR_XDP_PROGRAM_BUSY', err.message);
        return true;
      });
      assert.equal(lab.xdpProgramId(lab.dut), foreign, 'the foreign program must stay');
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without privileges open fails with ERR_NOT_PERMITTED naming the capability', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    const child = childOpen(lab, { interface: lab.dut.ifname }, { unprivileged: true });
    const line = await firstLine(child);
    await new Promise((r) => child.once('exit', r));
    assert.equal(line.error?.code, 'ERR_NOT_PERMITTED', JSON.stringify(line));
    assert.match(line.error.message, /CAP_[A-Z_]+/);
    assert.equal(lab.xdpProgramId(lab.dut), null);
  });
});

test('a queue can be opened again in the same process after close()', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLab({}, async (lab) => {
    for (let i = 0; i < 3; i++) {
      const port = await open({ interface: lab.dut.ifname });
      assert.equal(port.frameAccounting().consistent, true);
      await port.close();
    }
    assert.equal(lab.xdpProgramId(lab.dut), null);
  });
});
