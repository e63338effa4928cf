// Hocuspocus for scripts/bench.sh: persists each document as a file (the
// Database extension's fetch/store) under DIR.  Usage: node hocuspocus.mjs PORT DIR
import { Server } from '@hocuspocus/server';
import { Database } from '@hocuspocus/extension-database';
import { mkdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

const [port, dir] = [Number(process.argv[2]), process.argv[3]];
await mkdir(dir, { recursive: true });
// Document names are hex ids here; encode anyway so no name can escape DIR.
const file = (name) => join(dir, encodeURIComponent(name) + '.bin');

const server = new Server({
  port,
  address: '127.0.0.1',
  quiet: true,
  extensions: [
    new Database({
      fetch: async ({ documentName }) => {
        try {
          return new Uint8Array(await readFile(file(documentName)));
        } catch (e) {
          if (e.code === 'ENOENT') return null;
          throw e;
        }
      },
      // Write-then-rename so a crash never leaves a torn file.
      store: async ({ documentName, state }) => {
        const f = file(documentName);
        await writeFile(f + '.tmp', state);
        await rename(f + '.tmp', f);
      },
    }),
  ],
});
await server.listen();
console.log(`hocuspocus listening on ${port}`);
