/**
 * The npm package as a user gets it: `npm pack` of the main package and of
 * the linux-x64-gnu platform package (scripts/pack.mjs), installed into a
 * fresh project with no Rust and no clang on PATH (shims that record any
 * call stand in for cargo, rustc and clang). One project serves every
 * subtest; the privileged ones run the installed command on a veth lab.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { PcapWriter } from '../../ts/packet/pcap.js';
import { buildUdp } from '../../ts/packet/build.js';
import { peer, requirePrivileges } from '../helpers/priv.js';
import { variedUdpFrames } from '../helpers/frames.js';
import { Daemon, repoRoot, withLabAndDir } from '../helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'afxdp-package-'));
const project = join(work, 'project');
const shims = join(work, 'no-toolchain');
const toolchainCalls = join(work, 'toolchain-calls.log');
const PLATFORM_PACKAGE = 'afxdp-linux-x64-gnu';
let mainTarball = '';
let platformTarball = '';

/**
 * The environment of a user's shell: no npm variables of the `npm test`
 * running this, no ~/.cargo/bin, and cargo/rustc/clang shadowed by shims
 * that log the call and fail.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'NODE_TEST_CONTEXT') env[k] = v;
  }
  const path = (process.env.PATH ?? '').split(delimiter).filter((d) => !/\.cargo[/\\]bin/.test(d) && !d.includes('node_modules'));
  env.PATH = [shims, ...path].join(delimiter);
  return env;
}

function sh(cmd: string, args: string[], options: { cwd?: string; input?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: options.cwd ?? project, env: userEnv(), encoding: 'utf8', timeout: 300_000, input: options.input });
}

function ok(cmd: string, args: string[], options: { cwd?: string } = {}): SpawnSyncReturns<string> {
  const r = sh(cmd, args, options);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r;
}

const installedBin = () => join(project, 'node_modules', 'afxdp', 'bin', 'afxdp.js');

/** Swaps MACs: a frame goes back to the peer, whose kernel ignores it. */
const HANDLER = `import { Verdict, type Packet } from 'afxdp';

export default function handler(packet: Packet): Verdict {
  packet.swapMacs();
  return Verdict.Tx;
}
`;

before(async () => {
  mkdirSync(shims);
  for (const tool of ['cargo', 'rustc', 'clang', 'rustup']) {
    writeFileSync(join(shims, tool), `#!/bin/sh\necho "${tool} $*" >> ${JSON.stringify(toolchainCalls)}\nexit 127\n`);
    chmodSync(join(shims, tool), 0o755);
  }
  // Tarballs from the built tree (npm test builds first).
  const out = execFileSync(process.execPath, [join(repoRoot, 'scripts', 'pack.mjs'), join(work, 'tarballs')], { cwd: repoRoot, encoding: 'utf8' });
  [mainTarball, platformTarball] = out.trim().split('\n') as [string, string];

  mkdirSync(project);
  ok('npm', ['init', '-y']);
  ok('npm', ['pkg', 'set', 'type=module']);
  // As README.md says: afxdp, plus tsx/typescript/@types/node for handler tests and type checks.
  ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', mainTarball, platformTarball]);
  ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '-D', 'tsx', 'typescript@5', '@types/node@20']);
  writeFileSync(join(project, 'handler.ts'), HANDLER);
  const pcap = new PcapWriter(join(project, 'in.pcap'));
  for (const port of [7, 9, 53]) {
    await pcap.write(buildUdp({ src: '192.0.2.2', dst: '192.0.2.1', srcPort: 40000, dstPort: port, payload: 'x' }));
  }
  await pcap.close();
});

after(() => {
  rmSync(work, { recursive: true, force: true });
});

function tarList(tarball: string): string[] {
  return execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((p) => p.replace(/^package\//, ''));
}

test('the tarballs: dist/ and the loader in afxdp, the addon in the platform package, nothing a user does not run', () => {
  const main = tarList(mainTarball);
  for (const f of ['package.json', 'README.md', 'bin/afxdp.js', 'dist/index.js', 'dist/index.d.ts', 'dist/packet/index.js', 'dist/cli/main.js',
    'dist/handler/alias-hooks.mjs', 'native/index.cjs', 'native/index.d.ts', 'examples/reflector.ts', 'examples/reflector.test.ts']) {
    assert.ok(main.includes(f), `afxdp tarball has ${f}`);
  }
  for (const f of main) {
    assert.doesNotMatch(f, /^(test|bench|crates|bpf|ts|target|scripts\/(?!build-from-source))\//, `afxdp tarball must not carry ${f}`);
    assert.doesNotMatch(f, /(package-lock\.json|Cargo\.(lock|toml)|\.node|\.map|tsbuildinfo)$/, `afxdp tarball must not carry ${f}`);
  }
  const published = JSON.parse(execFileSync('tar', ['xzf', mainTarball, '-O', 'package/package.json'], { encoding: 'utf8' }));
  assert.deepEqual(published.optionalDependencies, { [PLATFORM_PACKAGE]: published.version });
  assert.equal(published.os, undefined, 'the offline half installs on any OS');
  assert.deepEqual(tarList(platformTarball).sort(), ['README.md', 'afxdp.linux-x64-gnu.node', 'package.json']);
});

test('import afxdp and afxdp/packet; npx afxdp --help', () => {
  const r = ok(process.execPath, ['--input-type=module', '-e', `
    const a = await import('afxdp');
    const p = await import('afxdp/packet');
    console.log(typeof a.open, typeof a.runHandler, a.Verdict.Tx, typeof p.buildUdp);`]);
  assert.equal(r.stdout.trim(), 'function function 1 function');
  const help = ok('npx', ['afxdp', '--help']);
  assert.match(help.stdout, /^Usage: afxdp <command>/);
});

test('a TypeScript handler: afxdp replay over a pcap, a node:test file with runHandler, tsc', () => {
  const replay = ok('npx', ['afxdp', 'replay', 'handler.ts', '--in', 'in.pcap', '--json']);
  assert.deepEqual(JSON.parse(replay.stdout).verdicts.map((v: { verdict: string }) => v.verdict), ['tx', 'tx', 'tx']);
  // The shipped example and its unit test, as README.md shows them.
  for (const f of ['reflector.ts', 'reflector.test.ts']) copyFileSync(join(project, 'node_modules', 'afxdp', 'examples', f), join(project, f));
  const t = ok(process.execPath, ['--import', 'tsx', '--test', 'reflector.test.ts']);
  assert.match(t.stdout, /# pass 2/);
  // tsc --init's defaults type-check a handler; the test file needs Node's types (README: "types": ["node"]).
  ok('npx', ['tsc', '--init']);
  const tsconfig = join(project, 'tsconfig.json');
  const defaults = readFileSync(tsconfig, 'utf8');
  assert.match(defaults, /"types": \[\]/);
  writeFileSync(tsconfig, defaults.replace('"types": []', '"types": ["node"]'));
  ok('npx', ['tsc', '--noEmit']);
  writeFileSync(tsconfig, defaults);
  rmSync(join(project, 'reflector.test.ts'));
  rmSync(join(project, 'reflector.ts'));
  ok('npx', ['tsc', '--noEmit']);
});

test('no cargo, rustc or clang was run', () => {
  assert.equal(existsSync(toolchainCalls) ? readFileSync(toolchainCalls, 'utf8') : '', '');
});

test('installed: afxdp doctor on a lab interface, afxdp run of the TypeScript handler echoes frames', async (t) => {
  if (!requirePrivileges(t)) return;
  await withLabAndDir(1, async (lab) => {
    const doctor = sh('ip', ['netns', 'exec', lab.dut.ns, 'npx', 'afxdp', 'doctor', '-i', lab.dut.ifname]);
    assert.equal(doctor.status, 0, doctor.stdout + doctor.stderr);
    // node, not npx: a signal must reach the daemon itself.
    const d = new Daemon(['run', 'handler.ts', '-i', lab.dut.ifname, '--status-interval', '0'], lab.dut.ns, userEnv(), installedBin(), project);
    try {
      await d.ready();
      const frames = variedUdpFrames(50, { dutMac: lab.dut.mac, peerMac: lab.peer.mac });
      const res = await peer(lab, { send: frames, capture: true, expect: frames.length });
      const back = res.captured.filter((f) => f[0] === 0x02 && f[5] === 0x02 && f[11] === 0x01);
      assert.equal(back.length, frames.length, 'every frame came back with its MACs swapped');
      const r = await d.stop('SIGTERM');
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await d.kill();
    }
  });
});

test('installed: npx afxdp lab demo runs the shipped reflector example and removes its lab', (t) => {
  if (!requirePrivileges(t)) return;
  const r = sh('npx', ['afxdp', 'lab', 'demo', '--seconds', '1', '--rate', '2000']);
  assert.equal(r.status, 0, r.stderr);
  const m = /sent (\d+) frames .* (\d+) came back; daemon exited 0/.exec(r.stderr);
  assert.ok(m, r.stderr);
  assert.equal(m[2], m[1]);
});

test('without the platform package: replay and runHandler work, open() fails with ERR_NATIVE_MODULE naming it', () => {
  const addon = join(project, 'node_modules', PLATFORM_PACKAGE);
  const hidden = join(work, 'hidden-platform-package');
  renameSync(addon, hidden);
  try {
    const replay = ok('npx', ['afxdp', 'replay', 'handler.ts', '--in', 'in.pcap']);
    assert.match(replay.stdout, /frames 3: tx 3/);
    for (const f of ['reflector.ts', 'reflector.test.ts']) copyFileSync(join(project, 'node_modules', 'afxdp', 'examples', f), join(project, f));
    assert.match(ok(process.execPath, ['--import', 'tsx', '--test', 'reflector.test.ts']).stdout, /# pass 2/);
    const open = ok(process.execPath, ['--input-type=module', '-e', `
      const { open } = await import('afxdp');
      try { await open({ interface: 'lo' }); console.log('opened'); } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`]);
    const err = JSON.parse(open.stdout) as { code: string; message: string };
    assert.equal(err.code, 'ERR_NATIVE_MODULE');
    assert.match(err.message, new RegExp(`npm install ${PLATFORM_PACKAGE}`));
    const run = sh('npx', ['afxdp', 'doctor', '-i', 'lo']);
    assert.notEqual(run.status, 0);
    assert.match(run.stdout + run.stderr, new RegExp(PLATFORM_PACKAGE));
  } finally {
    renameSync(hidden, addon);
  }
});
