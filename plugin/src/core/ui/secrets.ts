// Where the token lives. Obsidian 1.11.4 added `app.secretStorage`, kept
// outside the vault; before that the token could only sit in plain text in
// the plugin's data.json (which vault backups and other sync tools copy).
// The logic is host-neutral: the adapter hands in the storage when it exists.
import type { TesseraSettings } from './settings';

/** The part of Obsidian's SecretStorage used here. */
export interface SecretStore {
  getSecret(id: string): string | null;
  setSecret(id: string, secret: string): void;
}

/** A secret id for this vault's token: lowercase letters, digits and dashes, as SecretStorage requires. */
export function tokenSecretId(vaultName: string): string {
  const slug = vaultName.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return `tessera-sync-token${slug ? `-${slug}` : ''}`;
}

export interface LoadedToken {
  token: string;
  /** data.json still holds a token that moved to the secret store: save it again without. */
  migrate: boolean;
}

/**
 * The token for stored settings: the secret store's when it has one, else
 * data.json's (an older app, or the first start after an update, which then
 * migrates it).
 */
export function loadToken(stored: Pick<TesseraSettings, 'token'>, secrets: SecretStore | undefined, id: string): LoadedToken {
  if (!secrets) return { token: stored.token, migrate: false };
  const kept = secrets.getSecret(id) ?? '';
  if (stored.token) {
    // data.json's token is newer when it differs (typed on an older app version).
    if (stored.token !== kept) secrets.setSecret(id, stored.token);
    return { token: stored.token, migrate: true };
  }
  return { token: kept, migrate: false };
}

/** What goes into data.json: everything but the token when a secret store holds it. */
export function dataToSave(settings: TesseraSettings, secrets: SecretStore | undefined, id: string): TesseraSettings {
  if (!secrets) return settings;
  secrets.setSecret(id, settings.token);
  return { ...settings, token: '' };
}
