// Serves the test page, its bundle and the plugin's styles.css on a local port.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = {
  '/': ['index.html', 'text/html'],
  '/page.js': ['dist/page.js', 'text/javascript'],
  '/attach': ['attach.html', 'text/html'],
  '/attach-page.js': ['dist/attach-page.js', 'text/javascript'],
  '/nested': ['nested.html', 'text/html'],
  '/nested-page.js': ['dist/nested-page.js', 'text/javascript'],
  '/styles.css': ['../../styles.css', 'text/css'],
};

export function servePage() {
  const server = createServer(async (req, res) => {
    const entry = files[new URL(req.url, 'http://x').pathname];
    if (!entry) {
      // favicon.ico and anything else: nothing to serve.
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(resolve(here, entry[0]));
      res.writeHead(200, { 'content-type': entry[1] }).end(body);
    } catch (e) {
      res.writeHead(500).end(String(e));
    }
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () =>
      ok({ url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) }),
    ),
  );
}
