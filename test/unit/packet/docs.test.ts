/** Every ```ts example in docs/packet-toolkit.md runs (with 'afxdp/packet' pointed at the source). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const doc = readFileSync(join(root, 'docs/packet-toolkit.md'), 'utf8');
const blocks = [...doc.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
// Inside the repo so `--import tsx` resolves from node_modules.
const dir = mkdtempSync(join(root, 'test/unit/packet/.doc-examples-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the guide has examples', () => assert.ok(blocks.length >= 7));

blocks.forEach((code, i) => {
  test(`docs/packet-toolkit.md example ${i + 1} runs`, () => {
    const file = join(dir, `example-${i + 1}.mts`);
    writeFileSync(file, code.replaceAll("'afxdp/packet'", JSON.stringify(join(root, 'ts/packet/index.ts'))) + '\nexport {};\n');
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, `example ${i + 1} failed:\n${code}\n${r.stderr}`);
  });
});
