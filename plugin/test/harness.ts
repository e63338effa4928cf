// Real parts for engine tests: the WASM core from crdt/pkg, the relay binary
// in a temporary folder, `ws` sockets, and in-memory vaults and stores.
// TESSERA_TEST_URL (http://host:port) + TESSERA_SECRET run the same tests
// against a server that is already running (the worker under `wrangler dev`,
// from scripts/worker-test.sh) instead of starting the relay binary.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { initCore } from '../src/core/engine/core';
import { SyncEngine, type EngineOptions } from '../src/core/engine/engine';
import { MemoryStore, MemoryVault, systemClock } from '../src/core/engine/memory';
import type { Connection, ConnectionHandlers, Transport } from '../src/core/engine/ports';

initCore(readFileSync(new URL('../../crdt/pkg/tessera_crdt_bg.wasm', import.meta.url)));

const EXTERNAL = process.env.TESSERA_TEST_URL;
const SECRET = EXTERNAL ? process.env.TESSERA_SECRET ?? '' : 'engine-test-secret-0123456789abcdef';
const BIN = process.env.TESSERA_RELAY_BIN ?? new URL('../../target/debug/tessera-relay', import.meta.url).pathname;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export class Relay {
  private constructor(
    readonly url: string,
    private readonly proc: ChildProcess | undefined,
    private readonly dir: string | undefined,
  ) {}

  /** True when the tests run against a server this harness did not start. */
  static readonly external = EXTERNAL !== undefined;

  /** The server's token secret, for tests that mint through the CLI. */
  static readonly secret = SECRET;

  /**
   * Starts the relay binary (`extra`: more `serve` flags, e.g. low rate
   * limits). `autoCreate` false runs it as deployed: only `default` and
   * vaults an admin created exist.
   */
  static async start(extra: string[] = [], autoCreate = true): Promise<Relay> {
    if (EXTERNAL) {
      if (!SECRET) throw new Error('TESSERA_TEST_URL needs TESSERA_SECRET (the server\'s secret) to mint tokens');
      return new Relay(EXTERNAL.replace(/\/$/, ''), undefined, undefined);
    }
    const dir = mkdtempSync(join(tmpdir(), 'tessera-engine-'));
    const port = await freePort();
    const proc = spawn(
      BIN,
      ['serve', '--listen', `127.0.0.1:${port}`, '--data', dir, '--secret', SECRET,
        '--snapshot-debounce', '200ms', '--snapshot-max-delay', '1s', ...extra],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'warn', TESSERA_AUTO_CREATE_VAULTS: String(autoCreate) } },
    );
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      // TESSERA_RELAY_LOG=1 shows the relay's warnings while a test or bench runs.
      if (process.env.TESSERA_RELAY_LOG) process.stderr.write(d);
    });
    const url = `http://127.0.0.1:${port}`;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`relay exited: ${stderr}`);
      try {
        if ((await fetch(url + '/healthz')).ok) break;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return new Relay(url, proc, dir);
  }

  token(vault: string, scope: 'read' | 'write' | 'admin' = 'write'): string {
    return execFileSync(BIN, ['token', '--vault', vault, '--scope', scope], {
      env: { ...process.env, TESSERA_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'ignore'],
    }).toString().trim();
  }

  async stop(): Promise<void> {
    if (!this.proc || !this.dir) return;
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill('SIGTERM');
    await exited;
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A Transport over `ws` that a test can cut, as a network would. */
export class TestTransport implements Transport {
  online = true;
  private readonly sockets = new Set<WebSocket>();
  /** Sockets that stay open but carry nothing either way (a dead flow). */
  private readonly frozen = new Set<WebSocket>();

  /** Every socket asked for: the URL and the subprotocols offered. */
  readonly opened: { url: string; protocols?: string[] }[] = [];

  open(url: string, h: ConnectionHandlers, protocols?: string[]): Connection {
    this.opened.push({ url, protocols });
    if (!this.online) {
      setTimeout(() => h.onClose(1006, 'offline'), 5);
      return { send() {}, close() {} };
    }
    const ws = new WebSocket(url, protocols);
    ws.binaryType = 'nodebuffer';
    this.sockets.add(ws);
    let closed = false;
    ws.on('open', () => h.onOpen());
    ws.on('message', (data: Buffer) => !this.frozen.has(ws) && h.onMessage(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    const down = (code: number, reason: string) => {
      if (closed) return;
      closed = true;
      this.sockets.delete(ws);
      h.onClose(code, reason);
    };
    ws.on('close', (code: number, reason: Buffer) => down(code, reason.toString()));
    ws.on('error', () => down(1006, 'socket error'));
    return {
      send: (f) => ws.readyState === WebSocket.OPEN && !this.frozen.has(ws) && ws.send(f),
      close: (code, reason) => ws.close(code, reason),
    };
  }

  /**
   * The open sockets go silent without closing, as after a phone slept or a
   * NAT forgot the flow: no close event ever comes. New sockets work.
   */
  freeze(): void {
    for (const ws of this.sockets) this.frozen.add(ws);
  }

  /** Drops every socket and refuses new ones. */
  goOffline(): void {
    this.online = false;
    for (const ws of this.sockets) ws.terminate();
  }
  goOnline(): void {
    this.online = true;
  }
}

export interface Device {
  name: string;
  engine: SyncEngine;
  vault: MemoryVault;
  store: MemoryStore;
  net: TestTransport;
}

let vaultSeq = 0;
export const freshVaultId = () => `v${Date.now().toString(36)}-${vaultSeq++}`;

export async function device(
  relay: Relay,
  vaultId: string,
  name: string,
  opts: {
    vault?: MemoryVault;
    store?: MemoryStore;
    scope?: 'read' | 'write';
    net?: TestTransport;
    engine?: Partial<EngineOptions>;
  } = {},
): Promise<Device> {
  const vault = opts.vault ?? new MemoryVault();
  const store = opts.store ?? new MemoryStore();
  const net = opts.net ?? new TestTransport();
  const engine = new SyncEngine({
    vault,
    store,
    transport: net,
    clock: systemClock,
    relayUrl: relay.url,
    vaultId,
    token: relay.token(vaultId, opts.scope ?? 'write'),
    fetch: globalThis.fetch.bind(globalThis),
    identity: () => ({ name, color: '#ff0000' }),
    // TESSERA_ENGINE_LOG=1 shows each engine's warnings and errors while a test or bench runs.
    ...(process.env.TESSERA_ENGINE_LOG
      ? { logger: { info() {}, warn: (m: string) => console.error(`[${name}] ${m}`), error: (m: string) => console.error(`[${name}] ${m}`) } }
      : {}),
    ...opts.engine,
  });
  await engine.start();
  return { name, engine, vault, store, net };
}

export async function online(d: Device): Promise<void> {
  await d.engine.until(() => d.engine.connected && d.engine.getStatus().state !== 'offline');
}

/** Syncs every device again and again until a whole round changes nothing. */
export async function settle(devices: Device[]): Promise<void> {
  for (const d of devices) await online(d);
  let last = '';
  for (let round = 0; round < 50; round++) {
    for (const d of devices) {
      try {
        await d.engine.syncNow();
      } catch (e) {
        // The relay may drop a socket mid-sync (a slow reader gets 4429): the
        // engine reconnects and resumes; this round just does not count.
        if (!/offline/.test(String(e))) throw e;
        await online(d);
        last = '';
      }
    }
    const now = devices.map((d) => d.engine.changes).join(',');
    if (now === last) return;
    last = now;
  }
  throw new Error('devices did not settle in 50 rounds');
}

export async function stopAll(devices: Device[]): Promise<void> {
  for (const d of devices) await d.engine.stop();
}

/** The vault's files as path → text, for comparing devices. */
export function files(d: Device): Record<string, string> {
  return Object.fromEntries([...d.vault.snapshot()].sort(([a], [b]) => (a < b ? -1 : 1)));
}
