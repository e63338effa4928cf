// A device on the worker's doc endpoint, for the scheduled-backup check
// (scripts/worker-backup-test.sh): adds a note to the vault index and
// appends text to the note, each write confirmed by the server's echo.
//
//   node worker/tests/backup.mjs note URL VAULT TOKEN ID PATH TEXT
import * as Y from 'yjs'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const [mode, url, vault, token, id, path, text] = process.argv.slice(2)
if (mode !== 'note' || !url || !vault || !token || !id || !path || text === undefined) {
  console.error('usage: backup.mjs note URL VAULT TOKEN ID PATH TEXT')
  process.exit(2)
}
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))

/** A synced client on one doc; `write(fn)` changes the doc and waits for the echo. */
async function open (doc) {
  const ydoc = new Y.Doc()
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/v1/vaults/${vault}/docs/${doc}?token=${encodeURIComponent(token)}`)
  ws.binaryType = 'arraybuffer'
  let updates = 0
  let synced
  const ready = new Promise(resolve => { synced = resolve })
  ws.onmessage = ev => {
    const decoder = decoding.createDecoder(new Uint8Array(ev.data))
    if (decoding.readVarUint(decoder) !== 0) return
    const reply = encoding.createEncoder()
    encoding.writeVarUint(reply, 0)
    const kind = syncProtocol.readSyncMessage(decoder, reply, ydoc, 'server')
    if (encoding.length(reply) > 1) ws.send(encoding.toUint8Array(reply))
    if (kind === syncProtocol.messageYjsSyncStep2) synced()
    if (kind === syncProtocol.messageYjsUpdate) updates++
  }
  ws.onopen = () => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    syncProtocol.writeSyncStep1(e, ydoc)
    ws.send(encoding.toUint8Array(e))
  }
  await Promise.race([ready, deadline(30000, `sync of ${doc}`)])
  const write = async change => {
    const before = Y.encodeStateVector(ydoc)
    const seen = updates
    ydoc.transact(() => change(ydoc))
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(ydoc, before))
    ws.send(encoding.toUint8Array(e))
    await Promise.race([
      new Promise(resolve => { const p = setInterval(() => { if (updates > seen) { clearInterval(p); resolve() } }, 20) }),
      deadline(30000, `echo on ${doc}`)
    ])
  }
  return { ydoc, ws, write }
}

async function main () {
  const index = await open('index')
  const files = index.ydoc.getMap('files')
  if (!files.has(id)) {
    await index.write(() => {
      const entry = new Y.Map()
      entry.set('path', path)
      entry.set('kind', 'note')
      files.set(id, entry)
    })
  }
  const note = await open(id)
  await note.write(doc => { const t = doc.getText('content'); t.insert(t.length, text) })
  index.ws.close(1000)
  note.ws.close(1000)
  console.log(`backup.mjs: ${path} written`)
  process.exit(0)
}

main().catch(e => { console.error(`backup.mjs: ${e.message}`); process.exit(1) })
