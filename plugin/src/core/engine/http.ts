// The relay's HTTP endpoints: blobs (attachments by blake3), history and
// restore. Uses the host's fetch so it works on desktop and mobile alike.
import type { BlobClient } from './ports';

export interface Snapshot {
  snapshot: string;
  created_ms: number;
  size: number;
}

export class RelayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** For 429: when the relay said to ask again (its Retry-After), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A 429 whose Retry-After is at most this long is waited out and retried. */
const MAX_WAIT_MS = 60_000;
/** Retries of one request after 429s before its caller hears of it. */
const MAX_RATE_RETRIES = 3;

/** Retry-After in ms (whole seconds, as the relay sends it); undefined if absent or unreadable. */
export function retryAfterHeaderMs(value: string | null): number | undefined {
  if (value === null || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class RelayHttp implements BlobClient {
  constructor(
    private readonly base: string,
    private readonly vault: string,
    private readonly token: string,
    private readonly fetchFn: typeof fetch,
    private readonly wait: (ms: number) => Promise<void> = sleep,
  ) {}

  async put(hash: string, bytes: Uint8Array): Promise<void> {
    await this.call('PUT', `/blobs/${hash}`, bytes.slice().buffer as ArrayBuffer, 'application/octet-stream');
  }

  async get(hash: string): Promise<Uint8Array | undefined> {
    const res = await this.raw('GET', `/blobs/${hash}`);
    if (res.status === 404) return undefined;
    if (!res.ok) throw await this.error(res);
    return new Uint8Array(await res.arrayBuffer());
  }

  async history(path: string): Promise<{ doc: string; path: string; snapshots: Snapshot[] }> {
    const res = await this.call('GET', `/history?path=${encodeURIComponent(path)}`);
    return (await res.json()) as { doc: string; path: string; snapshots: Snapshot[] };
  }

  async restore(path: string, snapshot: string): Promise<{ restored: boolean; doc: string }> {
    const res = await this.call('POST', '/restore', JSON.stringify({ path, snapshot }), 'application/json');
    return (await res.json()) as { restored: boolean; doc: string };
  }

  /**
   * Why the relay refuses this device's socket, if it does: a browser
   * WebSocket only reports 1006 for an HTTP refusal, so the same request is
   * made over HTTP, where the status and the relay's message are readable.
   */
  async socketRefusal(): Promise<RelayError | undefined> {
    const res = await this.raw('GET', '/ws');
    // 404: no such vault (an admin creates vaults); 410: an admin deleted it.
    return [401, 403, 404, 410].includes(res.status) ? this.error(res) : undefined;
  }

  private async call(method: string, path: string, body?: BodyInit, type?: string): Promise<Response> {
    const res = await this.raw(method, path, body, type);
    if (!res.ok) throw await this.error(res);
    return res;
  }

  /**
   * One request. A 429 (the relay's per-token request rate) is waited out
   * for as long as its Retry-After says, up to a minute, a few times; after
   * that the caller gets the 429 and retries on its own schedule.
   */
  private async raw(method: string, path: string, body?: BodyInit, type?: string): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (type) headers['content-type'] = type;
    const url = `${this.base.replace(/\/$/, '')}/v1/vaults/${encodeURIComponent(this.vault)}${path}`;
    for (let attempt = 0; ; attempt++) {
      const res = await this.fetchFn(url, { method, headers, ...(body !== undefined ? { body } : {}) });
      const wait = res.status === 429 ? retryAfterHeaderMs(res.headers.get('retry-after')) : undefined;
      if (wait === undefined || wait > MAX_WAIT_MS || attempt >= MAX_RATE_RETRIES) return res;
      await this.wait(wait);
    }
  }

  private async error(res: Response): Promise<RelayError> {
    let code = 'http-' + res.status;
    let message = res.statusText;
    try {
      const j = (await res.json()) as { error?: string; message?: string };
      code = j.error ?? code;
      message = j.message ?? message;
    } catch {
      // Not JSON: keep the status line.
    }
    return new RelayError(res.status, code, `${code}: ${message}`, retryAfterHeaderMs(res.headers.get('retry-after')));
  }
}
