// The plugin's settings: shape, defaults, and repair of whatever was stored
// (older versions, hand edits). Host-neutral.

export interface TesseraSettings {
  /** e.g. https://sync.example.org (the relay's base URL; ws(s) is derived). */
  serverUrl: string;
  vaultId: string;
  token: string;
  deviceName: string;
  /** #rrggbb: this device's cursor as other devices see it. */
  cursorColor: string;
  /** Glob patterns (vault-relative) never synced, one per entry. */
  ignoreGlobs: string[];
  /** Sync attachments (non-Markdown files) at all. */
  syncAttachments: boolean;
  /** Largest attachment synced, in megabytes (desktop). */
  maxAttachmentMB: number;
  /**
   * Largest attachment synced on a phone or tablet. Obsidian's requestUrl
   * carries whole bodies base64-encoded over the mobile bridge, and Android
   * runs out of memory at 35–80 MB (Remotely Save #182, #265, #841).
   */
  mobileMaxAttachmentMB: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  /** Connect on start-up (false after the user pressed Disconnect). */
  connectOnStart: boolean;
  /**
   * Connect over http:// or ws:// to a host other than this device. Off by
   * default: the token and every note would cross the network readable.
   */
  allowUnencrypted: boolean;
}

export const DEFAULT_SETTINGS: Readonly<TesseraSettings> = {
  serverUrl: '',
  vaultId: '',
  token: '',
  deviceName: '',
  cursorColor: '#7c3aed',
  ignoreGlobs: ['.obsidian/**', '.trash/**'],
  syncAttachments: true,
  maxAttachmentMB: 50,
  mobileMaxAttachmentMB: 20,
  logLevel: 'info',
  connectOnStart: true,
  allowUnencrypted: false,
};

const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;

/** Stored data (any shape) → complete, valid settings. Unknown keys are dropped. */
export function normalizeSettings(stored: unknown, fallbackDeviceName: string): TesseraSettings {
  const s = (typeof stored === 'object' && stored !== null ? stored : {}) as Record<string, unknown>;
  const str = (key: keyof TesseraSettings, fallback: string): string =>
    typeof s[key] === 'string' ? (s[key] as string).trim() : fallback;
  const color = str('cursorColor', DEFAULT_SETTINGS.cursorColor);
  const max = Number(s.maxAttachmentMB);
  const mobileMax = Number(s.mobileMaxAttachmentMB);
  const level = s.logLevel;
  return {
    serverUrl: str('serverUrl', DEFAULT_SETTINGS.serverUrl).replace(/\/+$/, ''),
    vaultId: str('vaultId', DEFAULT_SETTINGS.vaultId),
    token: str('token', DEFAULT_SETTINGS.token),
    deviceName: str('deviceName', '') || fallbackDeviceName,
    cursorColor: /^#[0-9a-f]{6}$/i.test(color) ? color : DEFAULT_SETTINGS.cursorColor,
    ignoreGlobs: Array.isArray(s.ignoreGlobs)
      ? s.ignoreGlobs.filter((g): g is string => typeof g === 'string').map((g) => g.trim()).filter(Boolean)
      : [...DEFAULT_SETTINGS.ignoreGlobs],
    syncAttachments: typeof s.syncAttachments === 'boolean' ? s.syncAttachments : DEFAULT_SETTINGS.syncAttachments,
    maxAttachmentMB: Number.isFinite(max) && max > 0 ? Math.min(max, 1024) : DEFAULT_SETTINGS.maxAttachmentMB,
    mobileMaxAttachmentMB:
      Number.isFinite(mobileMax) && mobileMax > 0 ? Math.min(mobileMax, 1024) : DEFAULT_SETTINGS.mobileMaxAttachmentMB,
    logLevel: LOG_LEVELS.includes(level as never) ? (level as TesseraSettings['logLevel']) : DEFAULT_SETTINGS.logLevel,
    connectOnStart: typeof s.connectOnStart === 'boolean' ? s.connectOnStart : DEFAULT_SETTINGS.connectOnStart,
    allowUnencrypted: s.allowUnencrypted === true,
  };
}

/** The attachment cap this device applies: the mobile one on a phone or tablet. */
export function attachmentCapMB(settings: Pick<TesseraSettings, 'maxAttachmentMB' | 'mobileMaxAttachmentMB'>, mobile: boolean): number {
  return mobile ? settings.mobileMaxAttachmentMB : settings.maxAttachmentMB;
}

/** The settings text area's lines → glob list (blank lines and # comments dropped). */
export function parseGlobList(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

/** A token shown in the settings: enough to recognise, not enough to use. */
export function maskToken(token: string): string {
  if (token.length === 0) return '';
  const id = token.split('.')[0] ?? '';
  return `${id}.••••••••${token.length > 8 ? token.slice(-4) : ''}`;
}

/**
 * The relay's vault WebSocket URL for these settings, or undefined when
 * incomplete. It never carries the token: that goes as a subprotocol.
 */
export function vaultSocketUrl(settings: Pick<TesseraSettings, 'serverUrl' | 'vaultId' | 'token'>): string | undefined {
  if (!settings.serverUrl || !settings.vaultId || !settings.token) return undefined;
  let url: URL;
  try {
    url = new URL(settings.serverUrl);
  } catch {
    return undefined;
  }
  if (url.protocol === 'https:') url.protocol = 'wss:';
  else if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return undefined;
  const base = url.toString().replace(/\/+$/, '');
  return `${base}/v1/vaults/${encodeURIComponent(settings.vaultId)}/ws`;
}

/** Hosts whose traffic never leaves this device. */
function isLoopback(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Why these settings must not connect, when the server URL is unencrypted
 * (http:// or ws://) and points off this device without the user having
 * allowed it; undefined when connecting is fine.
 */
export function unencryptedRefusal(settings: Pick<TesseraSettings, 'serverUrl' | 'allowUnencrypted'>): string | undefined {
  let url: URL;
  try {
    url = new URL(settings.serverUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'ws:') return undefined;
  if (settings.allowUnencrypted || isLoopback(url.hostname)) return undefined;
  return `${url.protocol}// to ${url.hostname} is unencrypted: your token and notes would cross the network readable by anyone on the way. Use https:// (see the relay's README for TLS), or turn on "Allow unencrypted connection" in the settings if this network is yours`;
}

/** The status reason while connect waits for a server URL, vault and token. */
export const NOT_SET_UP = 'set the server URL, vault and token in the settings';
