// The manifest promises the Obsidian versions the plugin runs on: it must not
// name one older than an API the adapter calls.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const read = (p: string) => readFileSync(new URL(p, import.meta.url), 'utf8');
const newer = (a: string, b: string) => {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) > (y[i] ?? 0);
  return false;
};

/** The `@since` of a method in obsidian.d.ts. */
function since(method: string): string {
  const dts = read('../../node_modules/obsidian/obsidian.d.ts');
  const at = dts.indexOf(`    ${method}(`);
  assert.ok(at > 0, `${method} is in obsidian.d.ts`);
  const doc = dts.slice(dts.lastIndexOf('/**', at), at);
  return /@since (\S+)/.exec(doc)![1]!;
}

test('minAppVersion is at least the version that introduced fileManager.trashFile (deletes go to the trash)', () => {
  assert.match(read('../../src/obsidian/host/vault.ts'), /fileManager\.trashFile/);
  const manifest = JSON.parse(read('../../manifest.json')) as { version: string; minAppVersion: string };
  const versions = JSON.parse(read('../../versions.json')) as Record<string, string>;
  const needed = since('trashFile');
  assert.ok(!newer(needed, manifest.minAppVersion), `minAppVersion ${manifest.minAppVersion} < ${needed}`);
  assert.equal(versions[manifest.version], manifest.minAppVersion);
});
