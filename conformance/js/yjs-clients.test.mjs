// Stock Yjs clients (y-websocket's WebsocketProvider over `ws`) against the
// real relay binary's doc endpoint: they converge after concurrent edits, and
// a read-only provider receives edits while its own are refused with the
// y-protocols permission-denied message.
//
// The relay binary: $TESSERA_RELAY_BIN, default target/debug/tessera-relay.
// Run: node --test conformance/js/yjs-clients.test.mjs

import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve, dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'

import * as Y from 'yjs'
import { WebsocketProvider, messageAuth } from 'y-websocket'
import * as authProtocol from 'y-protocols/auth'
import * as decoding from 'lib0/decoding'
import WebSocket from 'ws'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const RELAY_BIN = process.env.TESSERA_RELAY_BIN ?? join(ROOT, 'target', 'debug', 'tessera-relay')
// TESSERA_TEST_URL (host:port) + TESSERA_SECRET run the same tests against a
// server someone else started (the worker under wrangler dev); the relay
// binary then only mints tokens.
const EXTERNAL = process.env.TESSERA_TEST_URL
const SECRET = EXTERNAL ? process.env.TESSERA_SECRET : 'yjs-clients-test-secret-0123456789'
// Hang protection only: a wait that takes this long means something is stuck.
const WAIT_MS = 15_000

let relay
let relayLog = ''
let dataDir
let base

const freePort = () =>
  new Promise((ok, fail) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', fail)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => ok(port))
    })
  })

const waitFor = async (what, pred) => {
  const deadline = Date.now() + WAIT_MS
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const mintToken = (vault, scope) =>
  execFileSync(RELAY_BIN, ['token', '--vault', vault, '--scope', scope], {
    env: { ...process.env, TESSERA_SECRET: SECRET },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe']
  })
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l.startsWith('v1.'))

const freshVault = () => `yjs-${randomBytes(6).toString('hex')}`
const freshDoc = () => randomBytes(16).toString('hex')

/** A provider on the doc endpoint that records permission-denied messages. */
const connect = (vault, doc, token) => {
  const ydoc = new Y.Doc()
  const provider = new WebsocketProvider(`ws://${base}/v1/vaults/${vault}/docs`, doc, ydoc, {
    WebSocketPolyfill: WebSocket,
    params: { token },
    // Providers in one process would otherwise sync through a BroadcastChannel
    // and converge without the relay.
    disableBc: true
  })
  const denied = []
  const stock = provider.messageHandlers[messageAuth]
  provider.messageHandlers[messageAuth] = (encoder, decoder, p, emitSynced, type) => {
    authProtocol.readAuthMessage(decoding.clone(decoder), p.doc, (_doc, reason) => denied.push(reason))
    stock(encoder, decoder, p, emitSynced, type)
  }
  const text = ydoc.getText('content')
  // The provider leaves its awareness (and that one's timer) to the caller.
  const destroy = () => {
    provider.destroy()
    provider.awareness.destroy()
    ydoc.destroy()
  }
  return { ydoc, provider, text, denied, destroy }
}

const synced = (c) => waitFor(`${c.provider.url.split('?')[0]} to sync`, () => c.provider.synced)

before(async () => {
  assert.ok(
    existsSync(RELAY_BIN),
    `relay binary not found at ${RELAY_BIN}: run cargo build -p tessera-relay or set TESSERA_RELAY_BIN`
  )
  if (EXTERNAL) {
    assert.ok(SECRET, 'TESSERA_TEST_URL needs TESSERA_SECRET (the server\'s secret) to mint tokens')
    base = EXTERNAL.replace(/^https?:\/\//, '')
    return
  }
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-yjs-'))
  const port = await freePort()
  base = `127.0.0.1:${port}`
  relay = spawn(
    RELAY_BIN,
    ['serve', '--listen', base, '--data', join(dataDir, 'data'), '--secret', SECRET],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'warn', TESSERA_AUTO_CREATE_VAULTS: 'true' } }
  )
  relay.stderr.on('data', (d) => {
    relayLog += d
  })
  let exited = null
  relay.on('exit', (code) => {
    exited = code
  })
  await waitFor('the relay to answer /healthz', () => {
    if (exited !== null) throw new Error(`relay exited with ${exited}:\n${relayLog}`)
    fetch(`http://${base}/healthz`)
      .then((r) => {
        if (r.ok) relay.healthy = true
      })
      .catch(() => {})
    return relay.healthy === true
  })
})

after(async () => {
  if (relay && relay.exitCode === null) {
    const exited = new Promise((r) => relay.once('exit', r))
    relay.kill()
    await exited
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true })
})

test('two y-websocket providers converge after concurrent edits', async () => {
  const vault = freshVault()
  const doc = freshDoc()
  const token = mintToken(vault, 'write')
  const a = connect(vault, doc, token)
  const b = connect(vault, doc, token)
  try {
    await Promise.all([synced(a), synced(b)])
    // Concurrent: both edit before either has seen the other's change.
    a.text.insert(0, 'alpha ')
    b.text.insert(0, 'beta ')
    await waitFor('both providers to hold both edits', () => {
      const ta = a.text.toString()
      return ta === b.text.toString() && ta.includes('alpha ') && ta.includes('beta ')
    })
    a.text.insert(a.text.length, 'end')
    await waitFor('the follow-up edit to reach b', () => b.text.toString().endsWith('end'))
    assert.equal(a.text.toString(), b.text.toString())
    assert.equal(a.denied.length + b.denied.length, 0, 'a write token was refused')
  } finally {
    a.destroy()
    b.destroy()
  }
})

test('a read-only provider receives edits and its own are refused', async () => {
  const vault = freshVault()
  const doc = freshDoc()
  const writer = connect(vault, doc, mintToken(vault, 'write'))
  const reader = connect(vault, doc, mintToken(vault, 'read'))
  try {
    await Promise.all([synced(writer), synced(reader)])
    writer.text.insert(0, 'written by the writer')
    await waitFor('the reader to receive the edit', () => reader.text.toString() === 'written by the writer')

    reader.text.insert(0, 'vandalism ')
    await waitFor("the reader's permission-denied handler", () => reader.denied.length > 0)
    assert.ok(reader.denied[0].length > 0, 'the permission-denied reason is empty')

    // The writer's next edit reaches the reader, and the refused one never
    // reached the writer.
    writer.text.insert(writer.text.length, '!')
    await waitFor('the reader to receive the next edit', () => reader.text.toString().endsWith('!'))
    assert.equal(writer.text.toString(), 'written by the writer!')

    // A newcomer syncs the stored state: the refused edit is not in it.
    const late = connect(vault, doc, mintToken(vault, 'read'))
    try {
      await synced(late)
      await waitFor('the newcomer to receive the note', () => late.text.toString().length > 0)
      assert.equal(late.text.toString(), 'written by the writer!')
    } finally {
      late.destroy()
    }
  } finally {
    writer.destroy()
    reader.destroy()
  }
})

test('a stock y-websocket room with a free-form name works like y-sweet\'s', async () => {
  const vault = freshVault()
  const token = mintToken(vault, 'write')
  // A TipTap/BlockNote app keeps its content in an XmlFragment; any Yjs type works.
  const open = () => {
    const c = connect(vault, 'my-doc', token)
    c.fragment = c.ydoc.getXmlFragment('default')
    c.meta = c.ydoc.getMap('meta')
    return c
  }
  const a = open()
  const b = open()
  try {
    await Promise.all([synced(a), synced(b)])
    const p = new Y.XmlElement('paragraph')
    p.insert(0, [new Y.XmlText('hello from an editor')])
    a.fragment.insert(0, [p])
    b.meta.set('title', 'My doc')
    await waitFor('both edits on both providers', () =>
      a.meta.get('title') === 'My doc' && b.fragment.toString().includes('hello from an editor'))
    const late = open()
    try {
      await synced(late)
      await waitFor('the newcomer to receive the stored state', () =>
        late.fragment.toString() === a.fragment.toString() && late.meta.get('title') === 'My doc')
    } finally {
      late.destroy()
    }
    assert.equal(a.denied.length + b.denied.length, 0, 'a write token was refused')
  } finally {
    a.destroy()
    b.destroy()
  }
})

test('doc names with bad characters or over 128 characters are refused with 400', async () => {
  const vault = freshVault()
  const token = mintToken(vault, 'write')
  for (const bad of ['bad~name', 'a%20b', 'x'.repeat(129)]) {
    const status = await new Promise((ok, fail) => {
      const ws = new WebSocket(`ws://${base}/v1/vaults/${vault}/docs/${bad}?token=${token}`)
      ws.on('unexpected-response', (_req, res) => {
        ok(res.statusCode)
        ws.terminate()
      })
      ws.on('open', () => {
        ws.close()
        fail(new Error(`the doc name ${bad} was accepted`))
      })
      ws.on('error', () => {})
    })
    assert.equal(status, 400, `doc name ${bad}`)
  }
})
