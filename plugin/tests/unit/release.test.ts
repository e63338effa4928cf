// What a release publishes agrees with itself: manifest.json, versions.json
// and package.json, in the shape BRAT and the community-plugin review read
// (scripts/release-plugin.sh refuses to package otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
// @ts-expect-error: a plain .mjs script without types
import { readPlugin, releaseProblems } from '../../scripts/release-check.mjs';

const plugin = fileURLToPath(new URL('../..', import.meta.url));
type Files = { manifest: Record<string, unknown>; pkg: Record<string, unknown>; versions: Record<string, string> };
const problems = (f: Files): string[] => releaseProblems(f) as string[];

test('the plugin as committed is releasable: versions agree and the manifest has every field the review asks for', () => {
  assert.deepEqual(problems(readPlugin(plugin) as Files), []);
});

test('a version bumped in manifest.json only, or a versions.json without the new version, is refused', () => {
  const ok = readPlugin(plugin) as Files;
  const bumped = { ...ok, manifest: { ...ok.manifest, version: '9.9.9' } };
  const found = problems(bumped);
  assert.ok(found.some((p) => /package\.json version .* differs/.test(p)), found.join('; '));
  assert.ok(found.some((p) => /versions\.json maps 9\.9\.9 to nothing/.test(p)), found.join('; '));
});

test('a "v" tag-style version, a missing author, a desktop flag that is not a boolean and an id with "obsidian" are refused', () => {
  const ok = readPlugin(plugin) as Files;
  const { author: _author, ...noAuthor } = ok.manifest;
  const bad = { ...ok, manifest: { ...noAuthor, version: 'v0.1.0', isDesktopOnly: 'no', id: 'obsidian-tessera' } };
  const found = problems(bad).join('; ');
  for (const p of [/version v0\.1\.0 is not x\.y\.z/, /no author/, /isDesktopOnly must be true or false/, /must not contain "obsidian"/])
    assert.match(found, p);
});
