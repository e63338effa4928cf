// The token moves out of data.json into Obsidian's secret storage (1.11.4+)
// and stays in data.json on older apps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dataToSave, loadToken, tokenSecretId, type SecretStore } from '../../src/core/ui/secrets.ts';
import { normalizeSettings } from '../../src/core/ui/settings.ts';

class Secrets implements SecretStore {
  readonly map = new Map<string, string>();
  getSecret(id: string): string | null {
    return this.map.get(id) ?? null;
  }
  setSecret(id: string, secret: string): void {
    assert.match(id, /^[a-z0-9-]+$/, 'SecretStorage ids are lowercase alphanumeric with dashes');
    this.map.set(id, secret);
  }
}

test('secret ids are valid for any vault name', () => {
  assert.equal(tokenSecretId('My Vault (work)'), 'tessera-sync-token-my-vault-work');
  assert.equal(tokenSecretId('日本'), 'tessera-sync-token');
});

test('a token found in data.json moves to the secret store, and data.json is saved without it', () => {
  const secrets = new Secrets();
  const stored = normalizeSettings({ serverUrl: 'https://r', vaultId: 'v', token: 'v1.secret' }, 'D');
  const loaded = loadToken(stored, secrets, 'id');
  assert.deepEqual(loaded, { token: 'v1.secret', migrate: true });
  assert.equal(secrets.getSecret('id'), 'v1.secret');
  const saved = dataToSave({ ...stored, token: loaded.token }, secrets, 'id');
  assert.equal(saved.token, '');
  assert.equal(saved.serverUrl, 'https://r');
  // The next start reads it from the secret store.
  assert.deepEqual(loadToken(saved, secrets, 'id'), { token: 'v1.secret', migrate: false });
});

test('without a secret store (Obsidian before 1.11.4) the token stays in data.json', () => {
  const stored = normalizeSettings({ token: 'v1.secret' }, 'D');
  assert.deepEqual(loadToken(stored, undefined, 'id'), { token: 'v1.secret', migrate: false });
  assert.equal(dataToSave(stored, undefined, 'id').token, 'v1.secret');
});
