/**
 * Every error case of `afxdp run`: one line naming the problem and what to
 * do, a distinct exit code, and nothing left attached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { requirePrivileges } from '../helpers/priv.js';
import { Daemon, runCli, withLabAndDir, type CliResult } from '../helpers/cli.js';

const DROP_ALL = 'export default function () { return 0; }\n';

/** One line on stderr matching `re`, the exit code, nothing attached. */
function assertFailure(r: CliResult, exitCode: number, re: RegExp, lab?: { xdpProgramId(end: unknown): number | null; dut: unknown }): void {
  assert.equal(r.code, exitCode, `exit code (stderr: ${r.stderr})`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line on stderr, got:\n${r.stderr}`);
  assert.match(lines[0]!, re);
  if (lab) assert.equal(lab.xdpProgramId(lab.dut), null, 'nothing left attached');
}

test('usage errors exit 2', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const h = join(dir, 'h.mts');
    writeFileSync(h, DROP_ALL);
    assertFailure(await runCli(['run', h, '-i', lab.dut.ifname, '--bogus'], { ns: lab.dut.ns }), 2, /Unknown option '--bogus'.*--help/, lab);
    assertFailure(await runCli(['run', h], { ns: lab.dut.ns }), 2, /missing --interface/, lab);
    assertFailure(await runCli(['run', h, '-i', lab.dut.ifname, '--mode', 'fast'], { ns: lab.dut.ns }), 2, /--mode must be one of auto, native, skb/, lab);
    assertFailure(await runCli(['run', h, '-i', lab.dut.ifname, '--queues', '1-0'], { ns: lab.dut.ns }), 2, /backwards/, lab);
    assertFailure(await runCli(['frobnicate'], { ns: lab.dut.ns }), 2, /unknown command 'frobnicate'/, lab);
  });
});

test('handler problems exit 3', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const run = (file: string) => runCli(['run', file, '-i', lab.dut.ifname], { ns: lab.dut.ns });
    assertFailure(await run(join(dir, 'missing.ts')), 3, /handler file not found: .*missing\.ts/, lab);

    const noDefault = join(dir, 'nodefault.mts');
    writeFileSync(noDefault, 'export const x = 1;\n');
    assertFailure(await run(noDefault), 3, /has no default export function/, lab);

    const throws = join(dir, 'throws.mts');
    writeFileSync(throws, 'throw new Error("boom at load");\nexport default function () { return 0; }\n');
    assertFailure(await run(throws), 3, /failed to load: boom at load/, lab);

    const syntax = join(dir, 'syntax.mts');
    writeFileSync(syntax, 'export default function ( { return 0; }\n');
    assertFailure(await run(syntax), 3, /failed to load/, lab);

    const setupThrows = join(dir, 'setup.mts');
    writeFileSync(setupThrows, 'export function setup() { throw new Error("no config"); }\nexport default function () { return 0; }\n');
    assertFailure(await run(setupThrows), 3, /setup\(\) threw: no config/, lab);
  });
});

test('a missing interface or queue exits 4', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(2, async (lab, dir) => {
    const h = join(dir, 'h.mts');
    writeFileSync(h, DROP_ALL);
    assertFailure(await runCli(['run', h, '-i', 'nosuch0'], { ns: lab.dut.ns }), 4, /no interface 'nosuch0'.*ip link/, lab);
    // The lab's interfaces are not in the root namespace.
    assertFailure(await runCli(['run', h, '-i', lab.dut.ifname]), 4, /no interface 'afx0'.*ip netns exec/);
    assertFailure(await runCli(['run', h, '-i', lab.dut.ifname, '--queues', '0-3'], { ns: lab.dut.ns }), 4, /has no queue 2 \(it has 2\)/, lab);
  });
});

test('a busy interface exits 5 and leaves the holder alone', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const h = join(dir, 'h.mts');
    writeFileSync(h, DROP_ALL);
    // Another afxdp daemon holds the queue.
    const first = new Daemon(['run', h, '-i', lab.dut.ifname, '--quiet'], lab.dut.ns);
    try {
      await first.ready();
      const prog = lab.xdpProgramId(lab.dut);
      const r = await runCli(['run', h, '-i', lab.dut.ifname], { ns: lab.dut.ns });
      assertFailure(r, 5, /busy|bound|another/i);
      assert.equal(lab.xdpProgramId(lab.dut), prog, "the first daemon's program is untouched");
      assert.equal(first.exited, false);
      assert.equal((await first.stop()).code, 0);
    } finally {
      await first.kill();
    }
    assert.equal(lab.xdpProgramId(lab.dut), null);

    // A foreign XDP program.
    const src = join(dir, 'foreign.c');
    writeFileSync(src, '__attribute__((section("xdp"), used)) int pass(void *ctx) { return 2; }\n' +
      'char _license[] __attribute__((section("license"), used)) = "GPL";\n');
    execFileSync('clang', ['-O2', '-target', 'bpf', '-c', src, '-o', join(dir, 'foreign.o')]);
    execFileSync('ip', ['-n', lab.dut.ns, 'link', 'set', 'dev', lab.dut.ifname, 'xdp', 'obj', join(dir, 'foreign.o'), 'sec', 'xdp']);
    const foreign = lab.xdpProgramId(lab.dut);
    assert.notEqual(foreign, null);
    assertFailure(await runCli(['run', h, '-i', lab.dut.ifname], { ns: lab.dut.ns }), 5, /another XDP program is attached to afx0.*xdp off/);
    assert.equal(lab.xdpProgramId(lab.dut), foreign, 'the foreign program is left alone');
  });
});

test('without root or capabilities exits 6', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab, dir) => {
    const h = join(dir, 'h.mts');
    writeFileSync(h, DROP_ALL);
    const r = await runCli(['run', h, '-i', lab.dut.ifname], { ns: lab.dut.ns, unprivileged: true });
    assertFailure(r, 6, /CAP_NET_ADMIN/, lab);
  });
});
