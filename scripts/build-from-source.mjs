#!/usr/bin/env node
// Builds the afxdp native addon from source, for a target with no prebuilt
// package (linux-arm64-gnu, linux-x64-musl, ...), and optionally installs it
// into a project:
//
//   git clone <afxdp repository> && cd afxdp && npm ci
//   node scripts/build-from-source.mjs [--install-into <project dir>]
//
// Checks first for everything the build needs and names what is missing
// (cargo, clang, the libbpf and kernel headers, the napi CLI) instead of
// failing in the middle of a compile.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const intoAt = args.indexOf('--install-into');
const into = intoAt >= 0 ? args[intoAt + 1] : undefined;

function fail(lines) {
  process.stderr.write(`afxdp build-from-source: ${lines.join('\n  ')}\n`);
  process.exit(1);
}

if (process.platform !== 'linux') fail([`the native addon is Linux only (AF_XDP); this is ${process.platform}.`, 'The offline half (afxdp/packet, Verdict, runHandler, afxdp replay) needs no addon.']);
if (intoAt >= 0 && !into) fail(['--install-into needs a project directory']);
if (!existsSync(join(root, 'crates', 'afxdp-node', 'Cargo.toml'))) {
  fail(['this copy of afxdp has no Rust sources (an npm install ships none).',
    'Clone the afxdp repository, run `npm ci` there, then run this script there with',
    `--install-into <your project> to put the addon into <your project>/node_modules/afxdp/native/.`]);
}

const found = (cmd, argv = ['--version']) => {
  const r = spawnSync(cmd, argv, { stdio: 'ignore' });
  return !r.error && r.status === 0;
};
const clang = process.env.CLANG ?? 'clang';
const multiarch = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' }[process.arch] ?? '';
const missing = [];
if (!found('cargo')) missing.push('cargo (Rust toolchain): https://rustup.rs, then `rustup default stable`');
if (!found(clang)) missing.push(`clang (\`${clang}\`, compiles the BPF program): apt-get install clang llvm, or set CLANG`);
if (!existsSync('/usr/include/bpf/bpf_helpers.h')) missing.push('libbpf headers (/usr/include/bpf/bpf_helpers.h): apt-get install libbpf-dev');
if (!existsSync('/usr/include/linux/bpf.h')) missing.push('kernel UAPI headers (/usr/include/linux/bpf.h): apt-get install linux-libc-dev');
if (!existsSync('/usr/include/asm/types.h') && !existsSync(`/usr/include/${multiarch}/asm/types.h`)) {
  missing.push(`asm headers (/usr/include/${multiarch}/asm): apt-get install linux-libc-dev`);
}
if (!existsSync(join(root, 'node_modules', '.bin', 'napi'))) missing.push('the napi CLI (@napi-rs/cli, a devDependency): run `npm ci` in this clone');
if (missing.length > 0) fail(['cannot build the native addon, missing:', ...missing.map((m) => `- ${m}`)]);

const r = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs'), 'native', '--force'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) fail([`the build failed (exit ${r.status}); its output is above.`]);

const addons = readdirSync(join(root, 'native')).filter((f) => f.startsWith('afxdp.') && f.endsWith('.node'));
console.log(`built ${addons.map((a) => join('native', a)).join(', ')}`);
if (into) {
  const dest = join(into, 'node_modules', 'afxdp', 'native');
  if (!existsSync(dest)) fail([`${dest} does not exist: run \`npm install afxdp\` in ${into} first`]);
  // The generated loader (native/index.cjs) looks for afxdp.<target>.node next to itself first.
  for (const a of addons) copyFileSync(join(root, 'native', a), join(dest, a));
  console.log(`installed into ${dest}`);
}
