// The sync engine of one vault: the relay connection and its protocol, the
// documents, the outbox of unacknowledged updates, open notes, and the
// status model. Disk mirroring and attachments live in disk.ts.
import type { NoteSession } from '../contract';
import {
  decodeFrame,
  encodeChangesSince,
  encodeQueryAwareness,
  encodeStep2,
  type Frame,
} from './core';
import { DiskMirror, type BinaryConflict } from './disk';
import { Docs, INDEX } from './docs';
import { Flow } from './flow';
import type { SyncFilter } from './filter';
import { tokenProtocols } from './credentials';
import { Link, retryAfterMs, type SocketTarget } from './link';
import { Meta } from './meta';
import { Outbox } from './outbox';
import type { BlobClient, Clock, LocalStore, Logger, Timer, Transport, VaultFiles } from './ports';
import { PresenceChannel, type PresenceIdentity } from './presence';
import { OpenNote } from './session';
import { deriveStatus, sameStatus, type SyncStatus } from './status';
import { RelayHttp } from './http';

export interface EngineOptions {
  vault: VaultFiles;
  store: LocalStore;
  transport: Transport;
  clock: Clock;
  /** Relay base URL, e.g. `https://relay.example` (ws/wss derived from it). */
  relayUrl: string;
  vaultId: string;
  token: string;
  /** Host fetch (Obsidian's requestUrl wrapper, or global fetch). */
  fetch: typeof fetch;
  identity: () => PresenceIdentity;
  logger?: Logger;
  /** Overrides the blob client built from fetch (tests). */
  blobs?: BlobClient;
  /** Selective sync; everything when left out. */
  filter?: SyncFilter;
  /** Presence renewal and the safety-net change poll (default 15 s). */
  renewMs?: number;
  /** Silence on an open socket after which it is dropped (default link.SILENT_MS). */
  silentMs?: number;
}

export interface FileState {
  path: string;
  state: 'pending' | 'refused' | 'conflict';
  detail?: string;
}

/** Presence renewal and the change poll share one period. */
const RENEW_MS = 15_000;
const LOG_LINES = 200;

export class SyncEngine {
  readonly docs: Docs;
  readonly meta: Meta;
  readonly outbox: Outbox;
  readonly http: RelayHttp;
  readonly disk: DiskMirror;
  private readonly link: Link;
  private readonly log: Logger;
  private readonly logLines: string[] = [];
  private scope = '';
  /** The last scope the relay granted; kept while offline (a read-only token stays read-only). */
  private knownScope = '';
  private lastError: string | undefined;
  /** Why the relay asked this device to stay away for a while (4429), until the next hello. */
  private offlineReason: string | undefined;
  /** Docs whose step 2 arrived on this connection: their content is known. */
  private readonly synced = new Set<string>();
  private readonly subscribed = new Set<string>();
  private readonly stepped = new Set<string>();
  private readonly flow: Flow;
  private round: { epoch: string; cursor: number; waiting: Set<string>; total?: number } | undefined;
  /** See SyncStatus.savedAt; set on each move into quiet. */
  private savedAt: number | undefined;
  private wasQuiet = false;
  /** Cursor stores in progress (see commitCursor), chained so they land in order. */
  private commits: Promise<void> = Promise.resolve();
  private committing = 0;
  private frames: Promise<void> = Promise.resolve();
  private framesBusy = 0;
  /** doc id → the editors' handles on it, oldest first (see session.ts). */
  private readonly sessions = new Map<string, OpenNote[]>();
  private readonly statusListeners = new Set<(s: SyncStatus) => void>();
  private status: SyncStatus = { state: 'offline', pending: 0, conflicts: 0 };
  private readonly waiters: { ready: () => boolean; resolve: () => void }[] = [];
  private renewTimer: Timer | undefined;
  /** Counts every change applied or made here; tests use it to see quiescence. */
  changes = 0;

  constructor(private readonly opts: EngineOptions) {
    this.log = this.makeLogger(opts.logger);
    this.docs = new Docs(opts.store, opts.clock);
    this.meta = new Meta(opts.store, opts.clock);
    this.outbox = new Outbox(opts.store);
    this.http = new RelayHttp(opts.relayUrl, opts.vaultId, opts.token, opts.fetch);
    this.disk = new DiskMirror(this, opts.vault, opts.blobs ?? this.http, this.log, opts.clock, opts.filter);
    this.flow = new Flow(this.outbox, {
      send: (frame) => this.link.send(frame),
      stateVector: (doc) => this.docs.stateVector(doc),
      follow: (doc) => this.subscribe(doc, false),
    });
    this.link = new Link(opts.transport, () => this.socketTarget(), opts.clock, this.log, {
      onUp: () => this.log.info('connected'),
      onFrame: (f) => this.enqueue(() => this.onFrame(f)),
      onDown: (code, reason, opened) => this.onDown(code, reason, opened),
      probe: () => this.askChanges(),
    }, Math.random, opts.silentMs);
  }

  // ---- lifecycle -------------------------------------------------------

  /** Loads local state, takes in what changed on disk while closed, then connects. */
  async start(): Promise<void> {
    await this.meta.load();
    await this.docs.load();
    await this.outbox.load();
    await this.reapplyPending();
    await this.disk.start();
    this.link.start();
    this.renew();
    this.updateStatus();
  }

  /** Stored states are written behind the outbox: its updates may be newer. */
  private async reapplyPending(): Promise<void> {
    for (const doc of this.outbox.docsWithPending()) {
      for (const item of this.outbox.items(doc)) {
        try {
          if (doc === INDEX) this.docs.index.applyRemote(item.update);
          else (await this.docs.note(doc)).applyRemote(item.update);
        } catch (e) {
          this.log.error(`a stored update of ${doc} does not apply: ${String(e)}`);
        }
      }
    }
  }

  async stop(): Promise<void> {
    this.renewTimer?.cancel();
    for (const s of [...this.sessions.values()].flat()) s.close();
    this.link.stop();
    this.disk.stop();
    await this.frames;
    await this.disk.idle();
    await this.docs.persistNow();
    await this.meta.flush();
  }

  reconnect(): void {
    this.link.reconnect();
  }

  /** The app is visible again or the network came back: reconnect now, or check the socket lives. */
  wake(): void {
    this.link.wake();
  }

  /**
   * The app goes to the background (a phone may kill it there without
   * another event): everything known is written to the local store now.
   * The outbox stores each update before it counts as made; this writes the
   * documents and the cursor record behind it.
   */
  async flush(): Promise<void> {
    await this.docs.persistNow();
    await this.meta.flush();
  }

  /** Asks the relay what changed and resolves once everything known is exchanged and durable. */
  async syncNow(): Promise<void> {
    if (!this.link.connected) throw new Error('offline: cannot sync now');
    await this.untilReady();
    this.link.send(encodeChangesSince(this.meta.data.epoch, this.meta.data.cursor));
    this.round = this.round ?? { epoch: '', cursor: 0, waiting: new Set(['?changes']) };
    await this.until(() => this.quiet());
  }

  /** Resolves once the connection has greeted and nothing is outstanding. */
  whenIdle(): Promise<void> {
    return this.until(() => this.quiet());
  }

  get connected(): boolean {
    return this.link.connected;
  }

  // ---- documents, used by the mirror and sessions ----------------------

  /** A local change to `doc`: persisted, counted as pending, sent when online. */
  localUpdate(doc: string, update: Uint8Array): void {
    this.changes++;
    const { saved } = this.outbox.add(doc, update);
    saved.catch((e) => this.log.error(`cannot persist an update: ${String(e)}`));
    void this.docs.persist(doc);
    if (this.link.connected && this.scope) this.flow.write(doc);
    if (doc !== INDEX) {
      // Peers' cursors are relative positions: the edit may have moved them.
      this.sessionFor(doc)?.presence.refresh();
      this.disk.noteChanged(doc, 'local');
    }
    this.updateStatus();
  }

  isSynced(doc: string): boolean {
    return this.synced.has(doc);
  }

  /** Makes sure the relay sends us `doc` (sync step 1) on this connection. */
  requestDoc(doc: string): void {
    this.subscribe(doc, true);
  }

  isOpen(path: string): boolean {
    for (const [doc, handles] of this.sessions) if (handles.length > 0 && this.showsNote(doc, path)) return true;
    return false;
  }

  /**
   * The handle that receives the doc's remote changes: one editor only. When
   * a note is open in two panes, Obsidian copies every change of one pane
   * into the other itself, as an ordinary transaction; delivering the change
   * to both would insert it twice (issue 12.2).
   */
  sessionFor(docId: string): OpenNote | undefined {
    const handles = this.sessions.get(docId);
    return handles?.find((h) => h.listening) ?? handles?.[0];
  }

  /** Does a file at `path` show doc `docId`: its index path, where we placed it, or mid-rename? */
  private showsNote(docId: string, path: string): boolean {
    const known = [this.docs.index.get(docId)?.path, this.meta.data.placed[docId]];
    return known.includes(path) || known.includes(this.disk.formerPath(path));
  }

  // ---- editor ------------------------------------------------------------

  /** Opens a note for an editor; the engine stops writing that file to disk until it closes. */
  async openNote(path: string, editorText?: string): Promise<NoteSession> {
    let entry = this.docs.index.lookup(path);
    if (!entry) {
      await this.disk.importPath(path);
      entry = this.docs.index.lookup(path);
    }
    if (!entry || entry.kind !== 'note') throw new Error(`not a synced note: ${path}`);
    const note = await this.docs.note(entry.id);
    const id = entry.id;
    if (editorText !== undefined) this.disk.adoptEditorText(id, path, editorText);
    const siblings = this.sessions.get(id) ?? [];
    const presence =
      siblings[0]?.presence ??
      new PresenceChannel(id, this.docs.clientId, note, this.opts.identity, (f) => {
        this.link.send(f);
      });
    const openedAt = entry.path;
    const session = new OpenNote(id, note, presence, {
      localUpdate: (doc, u) => this.localUpdate(doc, u),
      pathOf: (doc) => this.docs.index.get(doc)?.path ?? openedAt,
      shows: (doc, p) => this.showsNote(doc, p),
      closed: (s) => {
        const left = (this.sessions.get(s.docId) ?? []).filter((h) => h !== s);
        if (left.length > 0) {
          this.sessions.set(s.docId, left);
          return;
        }
        this.sessions.delete(s.docId);
        s.presence.leave();
        this.disk.noteClosed(s.docId);
        // What the editor shows is saved by the editor; anything newer is ours to write.
        this.disk.noteChanged(s.docId, 'remote');
      },
    }, this.knownScope === 'read');
    this.sessions.set(id, [...siblings, session]);
    if (this.link.connected) {
      this.subscribe(entry.id, true);
      this.link.send(encodeQueryAwareness(entry.id));
    }
    return session;
  }

  // ---- attachments, conflicts, HTTP --------------------------------------

  conflicts(): BinaryConflict[] {
    return this.disk.conflicts();
  }

  async resolveConflict(id: string, choice: 'local' | 'cloud'): Promise<void> {
    await this.disk.resolveConflict(id, choice);
    this.updateStatus();
  }

  /** Files the start-up scan found missing, their deletes held for the user. */
  heldDeletes(): string[] {
    return this.disk.heldDeletes();
  }

  resolveHeldDeletes(choice: 'delete' | 'restore'): Promise<void> {
    return this.disk.resolveHeldDeletes(choice);
  }

  async uploadEntireVault(progress: (done: number, total: number) => void = () => {}): Promise<void> {
    await this.disk.uploadAll(progress);
    if (this.link.connected) await this.syncNow();
  }

  async downloadEntireVault(progress: (done: number, total: number) => void = () => {}): Promise<void> {
    if (this.link.connected) await this.syncNow();
    await this.disk.downloadAll(progress);
  }

  history(path: string) {
    return this.http.history(path);
  }

  restore(path: string, snapshot: string) {
    return this.http.restore(path, snapshot);
  }

  // ---- status --------------------------------------------------------------

  getStatus(): SyncStatus {
    return this.status;
  }

  onStatus(listener: (s: SyncStatus) => void): () => void {
    this.statusListeners.add(listener);
    return () => this.statusListeners.delete(listener);
  }

  /** Files with changes not yet durable, refused by the relay, or in conflict. */
  files(): FileState[] {
    const out: FileState[] = [];
    const pathOf = (doc: string) =>
      doc === INDEX ? '(file list)' : (this.docs.index.get(doc)?.path ?? doc);
    for (const doc of this.outbox.docsWithPending()) {
      for (const item of this.outbox.items(doc)) {
        const path = pathOf(doc);
        const state = item.rejected ? 'refused' : 'pending';
        if (!out.some((f) => f.path === path && f.state === state))
          out.push({ path, state, ...(item.rejected ? { detail: item.rejected.text } : {}) });
      }
    }
    for (const c of this.conflicts()) out.push({ path: c.path, state: 'conflict' });
    return out;
  }

  /** Recent log lines for a bug report; the token never appears in them. */
  diagnostics(): string {
    const s = this.status;
    return [
      `status: ${JSON.stringify(s)}`,
      `scope: ${this.scope || '-'} epoch: ${this.meta.data.epoch || '-'} cursor: ${this.meta.data.cursor}`,
      `notes: ${this.docs.index.list().length} pending: ${this.outbox.unsettledCount()} refused: ${this.outbox.rejected().length}`,
      ...this.logLines,
    ].join('\n');
  }

  updateStatus(): void {
    // Refused changes are not stored anywhere but here: never "saved".
    const quiet = this.quiet() && this.outbox.rejectedCount() === 0;
    if (quiet && !this.wasQuiet) this.savedAt = this.opts.clock.now();
    this.wasQuiet = quiet;
    const r = this.round;
    const next = deriveStatus({
      receiving: r?.total ? { done: r.total - r.waiting.size, total: r.total } : undefined,
      savedAt: this.savedAt,
      connected: this.link.connected && this.scope !== '',
      scope: this.scope,
      pending: this.outbox.unsettledCount(),
      refused: this.outbox.rejectedCount(),
      conflicts: this.disk.conflicts().length,
      heldDeletes: this.disk.heldDeletes().length,
      error: this.lastError,
      offlineReason: this.offlineReason,
    });
    if (!sameStatus(next, this.status)) {
      this.status = next;
      for (const l of this.statusListeners) l(next);
    }
    this.checkWaiters();
  }

  // ---- protocol --------------------------------------------------------------

  private enqueue(job: () => Promise<void>): void {
    this.framesBusy++;
    this.frames = this.frames
      .then(job)
      .catch((e) => this.log.error(`frame handling failed: ${String(e)}`))
      .finally(() => {
        this.framesBusy--;
        this.updateStatus();
      });
  }

  private async onFrame(bytes: Uint8Array): Promise<void> {
    let f: Frame;
    try {
      f = decodeFrame(bytes);
    } catch (e) {
      this.log.warn(`undecodable frame from the relay: ${String(e)}`);
      return;
    }
    const doc = f.doc;
    switch (f.kind) {
      case 'hello':
        return this.onHello(f.scope, f.server);
      case 'changes':
        return this.onChanges(f.epoch, f.cursor, f.reset, f.docs);
      case 'step1':
        return this.onStep1(doc, f.payload);
      case 'step2':
      case 'update':
        await this.applyRemote(doc, f.payload);
        if (f.kind === 'step2') {
          this.flow.answered(doc);
          this.synced.add(doc);
          this.roundDone(doc);
          if (doc === INDEX) this.disk.indexSynced();
          // Its content is known now, even if nothing changed: place the file if it is new here.
          else {
            this.disk.noteChanged(doc, 'remote');
            this.disk.noteSynced(doc);
          }
        }
        return;
      case 'ack':
        await this.outbox.ack(doc, f.seq);
        this.flow.pumpWrites();
        return;
      case 'error':
        return this.onError(doc, f.code, f.seq, f.text);
      case 'permission-denied':
        this.log.warn(`permission denied: ${f.text}`);
        return;
      case 'awareness':
        this.sessionFor(doc)?.presence.receive(f.payload);
        return;
      default:
        return;
    }
  }

  private async onHello(scope: string, server: string): Promise<void> {
    this.scope = scope;
    this.knownScope = scope;
    this.lastError = undefined;
    this.offlineReason = undefined;
    this.outbox.resetConnection();
    this.resetSubscriptions();
    this.log.info(`hello from ${server}: scope ${scope}`);
    this.subscribe(INDEX, true);
    // Unacknowledged updates go out again: the relay applies them idempotently.
    this.flow.writeAll(this.outbox.docsWithPending());
    for (const [, [s]] of this.sessions) {
      if (!s) continue;
      this.subscribe(s.docId, true);
      this.link.send(encodeQueryAwareness(s.docId));
      s.presence.announce();
    }
    this.round = { epoch: '', cursor: 0, waiting: new Set(['?changes']) };
    this.link.send(encodeChangesSince(this.meta.data.epoch, this.meta.data.cursor));
  }

  private async onChanges(epoch: string, cursor: number, reset: boolean, changed: string[]): Promise<void> {
    const docs = new Set(changed);
    // The relay also sends `changes` unasked when a doc this socket does not
    // follow changes; a round still waiting for docs keeps waiting for them.
    const earlier = this.round && !this.round.waiting.has('?changes') ? this.round.waiting : undefined;
    if (reset || !this.meta.data.epoch) {
      // First run or a new relay epoch: every doc we know is compared with step 1.
      for (const e of this.docs.index.list()) if (e.kind === 'note') docs.add(e.id);
      for (const id of await this.docs.storedIds()) docs.add(id);
    }
    const waiting = new Set<string>(earlier);
    for (const doc of docs) {
      if (doc !== INDEX) await this.docs.note(doc);
      if (this.subscribe(doc, true) || !this.synced.has(doc)) waiting.add(doc);
    }
    this.round = { epoch, cursor, waiting, total: waiting.size };
    this.roundDone('');
  }

  private roundDone(doc: string): void {
    const r = this.round;
    if (!r || r.waiting.has('?changes')) return;
    r.waiting.delete(doc);
    if (r.waiting.size > 0) return;
    // The relay never lists a doc this socket follows: a followed doc whose
    // step 2 is still out may hold a change the cursor covers.
    for (const d of this.stepped) if (!this.synced.has(d)) return;
    this.round = undefined;
    this.commitCursor(r.epoch, r.cursor);
  }

  /**
   * Stores a cursor once the docs it covers are stored: the meta record
   * (saved for other reasons too) must never hold a cursor past a doc whose
   * state is not yet in the local store, or a crash or a dropped socket
   * would resume past changes this device never kept (issue 15).
   */
  private commitCursor(epoch: string, cursor: number): void {
    this.committing++;
    this.commits = this.commits
      .then(async () => {
        // A write that starts after this call takes every doc changed so far.
        await Promise.all([this.docs.persist(INDEX), this.disk.idle()]);
        const m = this.meta.data;
        if (m.epoch === epoch && m.cursor >= cursor) return;
        m.epoch = epoch;
        m.cursor = cursor;
        await this.meta.save();
      })
      .catch((e) => this.log.warn(`storing the change cursor failed: ${String(e)}`))
      .finally(() => {
        this.committing--;
        this.updateStatus();
      });
  }

  private async onStep1(doc: string, sv: Uint8Array): Promise<void> {
    const diff =
      doc === INDEX ? this.docs.index.diffSince(sv) : (await this.docs.note(doc)).diffSince(sv);
    this.outbox.recordWrite(doc);
    this.link.send(encodeStep2(doc, diff));
  }

  private async applyRemote(doc: string, update: Uint8Array): Promise<void> {
    if (doc === INDEX) {
      const ids = this.docs.index.applyRemote(update);
      if (ids.length > 0) {
        this.changes++;
        void this.docs.persist(INDEX);
        this.disk.indexChanged();
      }
      return;
    }
    const note = await this.docs.note(doc);
    const before = note.length;
    const delta = note.applyRemote(update);
    if (delta.length === 0 && note.length === before) {
      // No text changed, but the update may hold (deleted) text a peer's cursor names.
      this.sessionFor(doc)?.presence.refresh();
      return;
    }
    this.changes++;
    void this.docs.persist(doc);
    this.sessionFor(doc)?.emitRemote(delta);
    this.disk.noteChanged(doc, 'remote');
  }

  private async onError(doc: string, code: string, seq: number, text: string): Promise<void> {
    this.log.warn(`relay refused ${seq ? `write ${seq} of ` : ''}${doc || 'the connection'}: ${code}: ${text}`);
    if (seq > 0) {
      await this.outbox.reject(doc, seq, code, text);
      this.flow.pumpWrites();
    }
    // A refused doc (quarantined, bad id) answers no step 2: free its slot.
    else this.flow.answered(doc);
    // A read-only token is a state of its own (shown as Read-only), not an error.
    if (code !== 'permission-denied') this.lastError = `${code}: ${text}`;
  }

  private onDown(code: number, reason: string, opened: boolean): void {
    this.scope = '';
    this.resetSubscriptions();
    this.round = undefined;
    if (code === 4401 || code === 4403) this.lastError = reason || 'the relay refused the token';
    const wait = retryAfterMs(code, reason);
    if (wait > 0) {
      this.offlineReason = `the relay is limiting this device (${reason}); reconnecting in ${Math.ceil(wait / 1000)} s`;
      this.log.warn(this.offlineReason);
    }
    if (!opened && code === 1006) void this.diagnoseRefusal();
    this.updateStatus();
  }

  /** Turns "the socket would not open" into the relay's reason when it is the token. */
  private async diagnoseRefusal(): Promise<void> {
    try {
      const refusal = await this.http.socketRefusal();
      if (refusal && !this.link.connected) {
        this.lastError = refusal.message;
        this.updateStatus();
      }
    } catch {
      // Unreachable over HTTP too: plain Offline is the truth.
    }
  }

  /** Subscribes to `doc` on this connection (any frame does) and, with
   * `step1`, asks for its content once; true when step 1 was sent now. */
  private subscribe(doc: string, step1: boolean): boolean {
    if (!this.link.connected || !this.scope) return false;
    this.subscribed.add(doc);
    if (!step1 || this.stepped.has(doc)) return false;
    this.stepped.add(doc);
    this.flow.ask(doc);
    return true;
  }

  private resetSubscriptions(): void {
    this.flow.reset();
    this.synced.clear();
    this.subscribed.clear();
    this.stepped.clear();
  }

  // ---- waiting ------------------------------------------------------------------

  private quiet(): boolean {
    return (
      this.link.connected &&
      this.scope !== '' &&
      this.round === undefined &&
      this.committing === 0 &&
      this.framesBusy === 0 &&
      !this.outbox.inFlight() &&
      this.flow.idle() &&
      this.outbox.unsettledCount() === 0 &&
      this.disk.isIdle()
    );
  }

  private untilReady(): Promise<void> {
    return this.until(() => this.link.connected && this.scope !== '' && this.round === undefined);
  }

  until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ ready, resolve }));
  }

  checkWaiters(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.ready()) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }

  private renew(): void {
    this.renewTimer = this.opts.clock.setTimeout(() => {
      if (this.link.connected) for (const [, [s]] of this.sessions) s?.presence.announce();
      // The relay announces changes to docs this socket does not follow; asking
      // now and then also covers a lost announcement (one small frame).
      if (!this.round) this.askChanges();
      this.renew();
    }, this.opts.renewMs ?? RENEW_MS);
  }

  /** A change poll: the relay answers it with a `changes` frame (also the watchdog's probe). */
  private askChanges(): void {
    if (!this.link.connected || !this.scope) return;
    this.round = this.round ?? { epoch: '', cursor: 0, waiting: new Set(['?changes']) };
    this.link.send(encodeChangesSince(this.meta.data.epoch, this.meta.data.cursor));
  }

  private socketTarget(): SocketTarget {
    const base = this.opts.relayUrl.replace(/^http/, 'ws').replace(/\/$/, '');
    return {
      url: `${base}/v1/vaults/${encodeURIComponent(this.opts.vaultId)}/ws`,
      protocols: tokenProtocols(this.opts.token),
    };
  }

  private makeLogger(inner: Logger | undefined): Logger {
    const line = (level: 'info' | 'warn' | 'error') => (msg: string) => {
      const clean = msg.split(this.opts.token).join('<token>');
      this.logLines.push(`${new Date(this.opts.clock.now()).toISOString()} ${level} ${clean}`);
      if (this.logLines.length > LOG_LINES) this.logLines.shift();
      inner?.[level](clean);
    };
    return { info: line('info'), warn: line('warn'), error: line('error') };
  }
}
