// A stock Yjs client (y-protocols over Node 22's WebSocket) on the doc
// endpoint, for the worker's restart and hibernation checks.
//
//   node worker/tests/persist.mjs write URL VAULT DOC TOKEN TEXT
//       inserts TEXT and waits for the echo (sent only after the update is in
//       Durable Object storage: the output gate holds it until then)
//   node worker/tests/persist.mjs check URL VAULT DOC TOKEN TEXT
//       syncs from scratch and fails unless the note reads exactly TEXT
//   node worker/tests/persist.mjs idle URL VAULT DOC TOKEN TEXT SECONDS
//       writes TEXT, stays connected and silent for SECONDS (long enough for
//       the runtime to hibernate the object), then writes "!" on the same
//       socket and checks that a second client sees TEXT + "!"
import * as Y from 'yjs'
import * as syncProtocol from 'y-protocols/sync'
import * as encoding from 'lib0/encoding'
import * as decoding from 'lib0/decoding'

const [mode, url, vault, doc, token, text, seconds] = process.argv.slice(2)
if (!mode || !url || !vault || !doc || !token || text === undefined) {
  console.error('usage: persist.mjs write|check|idle URL VAULT DOC TOKEN TEXT [SECONDS]')
  process.exit(2)
}
const wsUrl = `${url.replace(/^http/, 'ws')}/v1/vaults/${vault}/docs/${doc}?token=${encodeURIComponent(token)}`
const deadline = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))

/** Opens a synced client: resolves once the server's state has arrived. */
function connect () {
  const ydoc = new Y.Doc()
  const ws = new WebSocket(wsUrl)
  ws.binaryType = 'arraybuffer'
  const updates = []
  let synced
  const ready = new Promise(resolve => { synced = resolve })
  ws.onmessage = ev => {
    const decoder = decoding.createDecoder(new Uint8Array(ev.data))
    const type = decoding.readVarUint(decoder)
    if (type !== 0) return // awareness and auth messages are not needed here
    const reply = encoding.createEncoder()
    encoding.writeVarUint(reply, 0)
    const kind = syncProtocol.readSyncMessage(decoder, reply, ydoc, 'server')
    if (encoding.length(reply) > 1) ws.send(encoding.toUint8Array(reply))
    if (kind === syncProtocol.messageYjsSyncStep2) synced()
    if (kind === syncProtocol.messageYjsUpdate) updates.push(kind)
  }
  ws.onopen = () => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, 0)
    syncProtocol.writeSyncStep1(e, ydoc)
    ws.send(encoding.toUint8Array(e))
  }
  ws.onclose = ev => { if (ev.code !== 1000) console.error(`socket closed: ${ev.code} ${ev.reason}`) }
  const echoed = () => new Promise(resolve => {
    const before = updates.length
    const poll = setInterval(() => { if (updates.length > before) { clearInterval(poll); resolve() } }, 20)
  })
  return { ydoc, ws, ready: Promise.race([ready, deadline(30000, 'sync step 2')]), echoed }
}

/** Inserts `s` at the end and waits for the server's echo. */
async function append (client, s) {
  const echo = client.echoed()
  const ytext = client.ydoc.getText('content')
  const before = Y.encodeStateVector(client.ydoc)
  ytext.insert(ytext.length, s)
  const e = encoding.createEncoder()
  encoding.writeVarUint(e, 0)
  syncProtocol.writeUpdate(e, Y.encodeStateAsUpdate(client.ydoc, before))
  client.ws.send(encoding.toUint8Array(e))
  await Promise.race([echo, deadline(30000, 'echo of the update')])
}

async function main () {
  if (mode === 'write') {
    const c = connect()
    await c.ready
    await append(c, text)
    c.ws.close(1000)
  } else if (mode === 'check') {
    const c = connect()
    await c.ready
    const got = c.ydoc.getText('content').toString()
    c.ws.close(1000)
    if (got !== text) throw new Error(`note reads ${JSON.stringify(got)}, expected ${JSON.stringify(text)}`)
  } else if (mode === 'idle') {
    const c = connect()
    await c.ready
    await append(c, text)
    await new Promise(resolve => setTimeout(resolve, Number(seconds || 15) * 1000))
    await append(c, '!')
    const other = connect()
    await other.ready
    const got = other.ydoc.getText('content').toString()
    c.ws.close(1000)
    other.ws.close(1000)
    if (!got.endsWith(text + '!')) throw new Error(`after idling the note reads ${JSON.stringify(got)}`)
  } else {
    throw new Error(`unknown mode ${mode}`)
  }
  console.log(`persist.mjs ${mode}: ok`)
  process.exit(0)
}

main().catch(e => { console.error(`persist.mjs ${mode}: ${e.message}`); process.exit(1) })
