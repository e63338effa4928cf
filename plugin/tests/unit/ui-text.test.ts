// Status bar wording, progress text and settings repair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressText, statusText } from '../../src/core/ui/status-text.ts';
import { maskToken, normalizeSettings, parseGlobList, unencryptedRefusal, vaultSocketUrl, DEFAULT_SETTINGS } from '../../src/core/ui/settings.ts';

test('the status bar reads Connected only when nothing is pending', () => {
  assert.equal(statusText({ state: 'connected', pending: 0, conflicts: 0 }).text, 'Connected');
  assert.equal(statusText({ state: 'connected', pending: 2, conflicts: 0 }).text, 'Syncing (2 pending)');
});

test('the status bar counts pending changes while syncing and offline', () => {
  assert.equal(statusText({ state: 'syncing', pending: 3, conflicts: 0 }).text, 'Syncing (3 pending)');
  assert.equal(statusText({ state: 'offline', pending: 5, conflicts: 0 }).text, 'Offline (5 pending)');
  assert.equal(statusText({ state: 'offline', pending: 0, conflicts: 0 }).text, 'Offline');
});

test('conflicts outrank offline and syncing; errors outrank conflicts', () => {
  assert.equal(statusText({ state: 'offline', pending: 5, conflicts: 2 }).text, 'Conflict (2)');
  assert.equal(statusText({ state: 'error', pending: 0, conflicts: 2, reason: 'token expired' }).text, 'Error (token expired)');
});

test('a read-only token and an error without a reason are named', () => {
  assert.equal(statusText({ state: 'read-only', pending: 0, conflicts: 0 }).text, 'Read-only');
  assert.equal(statusText({ state: 'error', pending: 0, conflicts: 0 }).text, 'Error (unknown)');
});

test('progress text shows counts, percent and the current file', () => {
  assert.equal(progressText('uploading', { done: 1, total: 4, path: 'a.md' }), 'Tessera: uploading 1 / 4 (25%) — a.md');
  assert.equal(progressText('downloading', { done: 0, total: 0 }), 'Tessera: downloading 0 / 0 (100%)');
});

test('stored settings of any shape become complete, valid settings', () => {
  const s = normalizeSettings({ serverUrl: ' https://relay.example/ ', cursorColor: 'red', maxAttachmentMB: -3, logLevel: 'loud', extra: 1 }, 'My laptop');
  assert.equal(s.serverUrl, 'https://relay.example');
  assert.equal(s.cursorColor, DEFAULT_SETTINGS.cursorColor);
  assert.equal(s.maxAttachmentMB, DEFAULT_SETTINGS.maxAttachmentMB);
  assert.equal(s.logLevel, 'info');
  assert.equal(s.deviceName, 'My laptop');
  assert.ok(!('extra' in s));
  assert.deepEqual(normalizeSettings(null, 'x').ignoreGlobs, DEFAULT_SETTINGS.ignoreGlobs);
});

test('the glob list drops blank lines and comments', () => {
  assert.deepEqual(parseGlobList('a/**\n\n # note\n*.tmp\r\n'), ['a/**', '*.tmp']);
});

test('a masked token keeps its version prefix and last four characters only', () => {
  const masked = maskToken('v1.eyJwYXlsb2FkIjoxfQ.c2VjcmV0bWFjMTIzNA');
  assert.ok(masked.startsWith('v1.'));
  assert.ok(masked.endsWith('IzNA'));
  assert.ok(!masked.includes('eyJwYXlsb2FkIjoxfQ'));
  assert.equal(maskToken(''), '');
});

test('the vault socket URL follows the server URL’s scheme and never carries the token', () => {
  assert.equal(
    vaultSocketUrl({ serverUrl: 'https://relay.example/base', vaultId: 'notes', token: 'v1.a+b.c' }),
    'wss://relay.example/base/v1/vaults/notes/ws',
  );
  assert.equal(vaultSocketUrl({ serverUrl: 'http://127.0.0.1:8787', vaultId: 'v', token: 't' }), 'ws://127.0.0.1:8787/v1/vaults/v/ws');
  assert.equal(vaultSocketUrl({ serverUrl: 'http://127.0.0.1:8787', vaultId: 'v', token: '' }), undefined);
  assert.equal(vaultSocketUrl({ serverUrl: 'ftp://x', vaultId: 'v', token: 't' }), undefined);
  assert.equal(vaultSocketUrl({ serverUrl: '', vaultId: 'v', token: 't' }), undefined);
});

test('"All changes saved" with the time only once the relay stored everything; "Receiving n of m" while a round runs', async () => {
  const { clockTime } = await import('../../src/core/ui/status-text.ts');
  const at = new Date(2026, 0, 2, 9, 5).getTime();
  assert.equal(clockTime(at), '09:05');
  const saved = statusText({ state: 'connected', pending: 0, conflicts: 0, savedAt: at });
  assert.equal(saved.text, 'All changes saved · 09:05');
  assert.match(saved.title, /all changes saved to the relay · last synced 09:05; safe to close/);
  assert.equal(statusText({ state: 'connected', pending: 1, conflicts: 0, savedAt: at }).text, 'Syncing (1 pending)');
  assert.equal(
    statusText({ state: 'syncing', pending: 0, conflicts: 0, receiving: { done: 3, total: 40 }, savedAt: at }).text,
    'Receiving 3 of 40',
  );
  assert.match(statusText({ state: 'offline', pending: 2, conflicts: 0, savedAt: at }).title, /last synced 09:05/);
});

test('held deletes outrank conflicts: the user must decide before anything is deleted', () => {
  assert.equal(statusText({ state: 'connected', pending: 0, conflicts: 2, heldDeletes: 16 }).text, 'Deletes held (16)');
});

test('phones and tablets get their own, lower attachment cap (20 MB by default)', async () => {
  const { attachmentCapMB } = await import('../../src/core/ui/settings.ts');
  const s = normalizeSettings({ maxAttachmentMB: 50 }, 'Phone');
  assert.equal(s.mobileMaxAttachmentMB, 20);
  assert.equal(attachmentCapMB(s, true), 20);
  assert.equal(attachmentCapMB(s, false), 50);
  assert.equal(normalizeSettings({ mobileMaxAttachmentMB: 'x' }, 'P').mobileMaxAttachmentMB, 20);
});

test('an unencrypted server URL off this device is refused unless the user allowed it, and says why', () => {
  for (const serverUrl of ['http://relay.example', 'ws://192.168.1.20:8787', 'http://[2001:db8::1]:80', 'http://127.0.0.1.evil.example']) {
    const reason = unencryptedRefusal({ serverUrl, allowUnencrypted: false });
    assert.ok(reason?.includes('unencrypted'), `${serverUrl}: ${reason}`);
    assert.ok(reason?.includes('Allow unencrypted connection'), reason);
    assert.equal(unencryptedRefusal({ serverUrl, allowUnencrypted: true }), undefined);
  }
});

test('https, wss and loopback servers connect without asking', () => {
  for (const serverUrl of ['https://relay.example', 'wss://relay.example', 'http://127.0.0.1:8787', 'http://localhost:8787', 'http://[::1]:8787', 'http://tessera.localhost']) {
    assert.equal(unencryptedRefusal({ serverUrl, allowUnencrypted: false }), undefined, serverUrl);
  }
});

test('allowing unencrypted connections is off unless the stored settings say exactly true', () => {
  assert.equal(normalizeSettings({}, 'd').allowUnencrypted, false);
  assert.equal(normalizeSettings({ allowUnencrypted: 'yes' }, 'd').allowUnencrypted, false);
  assert.equal(normalizeSettings({ allowUnencrypted: true }, 'd').allowUnencrypted, true);
});
