#!/usr/bin/env node
// Makes the npm tarballs from a built clone: `node scripts/pack.mjs [out dir]`
// - afxdp-<version>.tgz: what package.json "files" names (dist/, the
//   generated loader, bin/, docs, examples), with the publish-time
//   package.json: optionalDependencies on the platform package (added here,
//   as `napi pre-publish` does, so that a clone's `npm ci` never looks for a
//   platform package that is not published yet), no scripts or devDependencies;
// - afxdp-linux-x64-gnu-<version>.tgz: the prebuilt addon (npm/linux-x64-gnu/).
// Prints the two tarball paths, one a line. Publishing is `npm publish` of
// both, the platform package first.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'build', 'pack'));
const platformDir = join(root, 'npm', 'linux-x64-gnu');
const addon = 'afxdp.linux-x64-gnu.node';

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

const main = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const platform = JSON.parse(readFileSync(join(platformDir, 'package.json'), 'utf8'));
if (platform.version !== main.version) fail(`${platform.name}@${platform.version} and afxdp@${main.version} must have one version`);
for (const f of ['dist/index.js', 'dist/cli/main.js', 'dist/handler/alias-hooks.mjs', 'native/index.cjs', 'native/index.d.ts', `native/${addon}`]) {
  if (!existsSync(join(root, f))) fail(`${f} is missing: run \`npm run build\` first`);
}

const npmPack = (cwd, extra = []) =>
  JSON.parse(execFileSync('npm', ['pack', '--json', ...extra], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }))[0];

// Stage the main package: the files npm would pack from here, and the publish-time package.json.
const stage = join(out, 'stage', 'afxdp');
rmSync(stage, { recursive: true, force: true });
mkdirSync(stage, { recursive: true });
for (const { path } of npmPack(root, ['--dry-run']).files) {
  if (path === 'package.json') continue;
  mkdirSync(dirname(join(stage, path)), { recursive: true });
  copyFileSync(join(root, path), join(stage, path));
}
const published = { ...main, optionalDependencies: { ...main.optionalDependencies, [platform.name]: main.version } };
delete published.scripts;
delete published.devDependencies;
writeFileSync(join(stage, 'package.json'), `${JSON.stringify(published, null, 2)}\n`);

copyFileSync(join(root, 'native', addon), join(platformDir, addon));
mkdirSync(out, { recursive: true });
for (const dir of [stage, platformDir]) {
  const info = npmPack(dir, ['--pack-destination', out]);
  console.log(join(out, info.filename));
}
rmSync(join(out, 'stage'), { recursive: true, force: true });
