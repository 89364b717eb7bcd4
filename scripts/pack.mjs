#!/usr/bin/env node
// Makes the npm tarballs from a built clone: `node scripts/pack.mjs [out dir]`
// - afxdp-<version>.tgz: dist/, the generated loader, bin/, docs, examples;
// - afxdp-linux-x64-gnu-<version>.tgz: the prebuilt addon (npm/linux-x64-gnu/).
// Prints the two tarball paths, one a line. Publishing is `npm publish` of
// both, platform package first.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = resolve(process.argv[2] ?? join(root, 'build', 'pack'));
const platformDir = join(root, 'npm', 'linux-x64-gnu');
const addon = 'afxdp.linux-x64-gnu.node';

const main = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const platform = JSON.parse(readFileSync(join(platformDir, 'package.json'), 'utf8'));
// The platform package must be the exact version the main package asks for.
if (main.optionalDependencies?.[platform.name] !== main.version || platform.version !== main.version) {
  console.error(`pack: ${platform.name}@${platform.version} and afxdp@${main.version} (optionalDependencies: ${main.optionalDependencies?.[platform.name]}) must have one version`);
  process.exit(1);
}
for (const f of ['dist/index.js', 'dist/cli/main.js', 'dist/handler/alias-hooks.mjs', 'native/index.cjs', `native/${addon}`]) {
  if (!existsSync(join(root, f))) {
    console.error(`pack: ${f} is missing: run \`npm run build\` first`);
    process.exit(1);
  }
}
copyFileSync(join(root, 'native', addon), join(platformDir, addon));
mkdirSync(out, { recursive: true });
for (const dir of [root, platformDir]) {
  const [info] = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  console.log(join(out, info.filename));
}
