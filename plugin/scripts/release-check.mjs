// The release's metadata agree with each other, in the shape BRAT and the
// community-plugin review read: manifest.json (id, name, version,
// minAppVersion, description, author, isDesktopOnly), versions.json
// (plugin version → the oldest app version it runs on) and package.json.
// Run directly (scripts/release-plugin.sh does) or imported by the unit test.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SEMVER = /^\d+\.\d+\.\d+$/;
const REQUIRED = ['id', 'name', 'version', 'minAppVersion', 'description', 'author', 'isDesktopOnly'];

/** Every problem with these three files, as sentences; empty when releasable. */
export function releaseProblems({ manifest, pkg, versions }) {
  const out = [];
  for (const key of REQUIRED) if (manifest[key] === undefined || manifest[key] === '') out.push(`manifest.json has no ${key}`);
  if (typeof manifest.isDesktopOnly !== 'boolean') out.push('manifest.json isDesktopOnly must be true or false');
  // Obsidian compares plain x.y.z; the release tag must be exactly the version (no "v").
  if (!SEMVER.test(String(manifest.version))) out.push(`manifest.json version ${manifest.version} is not x.y.z`);
  if (!SEMVER.test(String(manifest.minAppVersion))) out.push(`manifest.json minAppVersion ${manifest.minAppVersion} is not x.y.z`);
  if (pkg.version !== manifest.version) out.push(`package.json version ${pkg.version} differs from manifest.json ${manifest.version}`);
  if (versions[manifest.version] !== manifest.minAppVersion)
    out.push(`versions.json maps ${manifest.version} to ${versions[manifest.version] ?? 'nothing'}, manifest.json says minAppVersion ${manifest.minAppVersion}`);
  for (const [v, app] of Object.entries(versions)) {
    if (!SEMVER.test(v) || !SEMVER.test(String(app))) out.push(`versions.json entry ${v} → ${app} is not x.y.z → x.y.z`);
  }
  // The review's rules for the id and description.
  if (/obsidian/i.test(String(manifest.id))) out.push('the plugin id must not contain "obsidian"');
  if (!/^[a-z0-9-]+$/.test(String(manifest.id))) out.push('the plugin id must be lowercase letters, digits and dashes');
  if (!/[.?!]$/.test(String(manifest.description))) out.push('the description must end with a period');
  return out;
}

/** The plugin folder's own files. */
export function readPlugin(dir) {
  const json = (f) => JSON.parse(readFileSync(join(dir, f), 'utf8'));
  return { manifest: json('manifest.json'), pkg: json('package.json'), versions: json('versions.json') };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = join(dirname(fileURLToPath(import.meta.url)), '..');
  const problems = releaseProblems(readPlugin(dir));
  for (const p of problems) console.error(`release check: ${p}`);
  if (problems.length > 0) process.exit(1);
  console.log(readPlugin(dir).manifest.version);
}
