// Test support for the host harness: a page server, a relay, two hosts.
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../browser/chromium.mjs';
import { startRelay } from '../browser/relay.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS = join(here, '../artifacts/host');
const files = {
  '/host': [join(here, 'host.html'), 'text/html'],
  '/host-page.js': [join(here, 'dist/host-page.js'), 'text/javascript'],
  // TESSERA_HOST_MAIN_JS: another build (e.g. of main's sources) to see a scenario fail before a fix.
  '/main.js': [process.env.TESSERA_HOST_MAIN_JS ?? join(here, '../../main.js'), 'text/javascript'],
  '/styles.css': [join(here, '../../styles.css'), 'text/css'],
};

function serve() {
  const server = createServer(async (req, res) => {
    const entry = files[new URL(req.url, 'http://x').pathname];
    if (!entry) return void res.writeHead(204).end(); // favicon and the like
    res.writeHead(200, { 'content-type': entry[1] }).end(await readFile(entry[0]));
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok({ url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) })));
}

/**
 * Requests the plugin makes with requestUrl run here, as Obsidian runs them
 * outside the page. `link.bytesPerSec` models a slow uplink: an attachment
 * upload then holds the engine's disk queue as a real one would (issue 12.3).
 */
async function hostFetch(link, url, method, headers, body) {
  if (body !== null && link.bytesPerSec) await new Promise((r) => setTimeout(r, (body.length * 0.75 * 1000) / link.bytesPerSec));
  const res = await fetch(url, { method, headers, ...(body !== null ? { body: Buffer.from(body, 'base64') } : {}) });
  const out = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: Object.fromEntries(res.headers), body: out.toString('base64') };
}

export const HANG = Number(process.env.TESSERA_HANG_MS ?? 90_000); // hang protection only

/** A relay, a page server and a browser; `host()` opens one more Obsidian. */
export async function environment(vault) {
  await mkdir(ARTIFACTS, { recursive: true });
  const relay = await startRelay({ vault });
  const server = await serve();
  const browser = await launchChromium();
  const u = new URL(relay.wsUrl);
  const settings = { serverUrl: `http://${u.host}`, vaultId: vault, token: u.searchParams.get('token') };
  const errors = [];
  return {
    relay,
    settings,
    errors,
    async host(name, { mobile = false, data = { ...settings, deviceName: name } } = {}) {
      const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
      page.setDefaultTimeout(HANG);
      page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
      page.on('console', (m) => m.type() === 'error' && errors.push(`${name}: ${m.text()}`));
      const link = { bytesPerSec: 0 };
      await page.exposeFunction('__hostFetch', (...args) => hostFetch(link, ...args));
      await page.goto(`${server.url}host${mobile ? '?mobile=1' : ''}`);
      await page.waitForFunction(() => window.hostReady);
      page.on('console', (m) => process.env.TESSERA_HOST_LOG && console.error(`[${name}] ${m.text()}`));
      const h = (fn, ...args) => page.evaluate(({ fn, args }) => window.host[fn](...args), { fn, args });
      await h('start', data);
      return { name, page, h, link, until: (body, arg) => page.waitForFunction(body, arg, { polling: 50 }), shot: (file) => page.screenshot({ path: join(ARTIFACTS, file) }) };
    },
    async close() {
      await browser.close();
      await server.close();
      await relay.stop();
    },
  };
}

/** Waits until a host shows `path` with `text` on disk and the engine has nothing pending. */
export async function untilFile(host, path, text) {
  await host.until(
    ([p, t]) => window.host.read(p) === t && window.host.status().pending === 0,
    [path, text],
  );
}
export async function untilConnected(host) {
  await host.until(() => ['connected'].includes(window.host.status().state) && window.host.status().pending === 0);
}
