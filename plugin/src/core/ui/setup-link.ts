// One-step device setup: `tessera-relay token --setup` prints
// obsidian://tessera-setup?url=…&vault=…&token=… (and a QR code of it). The
// plugin's protocol handler hands the link's parameters here; what comes back
// is shown to the user, who confirms before anything is stored. Host-neutral.

export interface SetupOffer {
  serverUrl: string;
  vaultId: string;
  token: string;
}

export type SetupParse = { ok: true; offer: SetupOffer } | { ok: false; reason: string };

/** The protocol handler's action name (obsidian://<action>). */
export const SETUP_ACTION = 'tessera-setup';

/** Vault ids the relay accepts (crdt/src/keys.rs): `[a-z0-9][a-z0-9-]{0,63}`. */
const VAULT_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** A minted token: `v1.<id>.<payload>.<mac>` style, printable, no spaces. */
const TOKEN = /^v\d+\.[A-Za-z0-9._~-]{8,4096}$/;

/**
 * The link's parameters (Obsidian passes them decoded) → settings to offer,
 * or why the link is unusable. Anything but http(s) is refused: a link is
 * input from outside the app (a web page can open obsidian:// URLs).
 */
export function parseSetupLink(params: Record<string, string | undefined>): SetupParse {
  const rawUrl = (params.url ?? '').trim();
  const vaultId = (params.vault ?? '').trim();
  const token = (params.token ?? '').trim();
  if (!rawUrl || !vaultId || !token) return { ok: false, reason: 'the link needs url, vault and token' };
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    return { ok: false, reason: 'the relay address is not a URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, reason: 'the relay address must start with https:// or http://' };
  if (url.username || url.password) return { ok: false, reason: 'the relay address must not carry a user name or password' };
  if (url.search || url.hash) return { ok: false, reason: 'the relay address must not carry a query or fragment' };
  if (!VAULT_ID.test(vaultId)) return { ok: false, reason: 'the vault id has characters a vault id cannot have' };
  if (!TOKEN.test(token)) return { ok: false, reason: 'the token does not look like a Tessera token' };
  return { ok: true, offer: { serverUrl: url.toString().replace(/\/+$/, ''), vaultId, token } };
}

/** The link for `offer` (the relay prints the same shape; tests round-trip it). */
export function setupLink(offer: SetupOffer): string {
  const q = (v: string) => encodeURIComponent(v);
  return `obsidian://${SETUP_ACTION}?url=${q(offer.serverUrl)}&vault=${q(offer.vaultId)}&token=${q(offer.token)}`;
}
