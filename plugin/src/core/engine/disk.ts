// Keeps the vault folder and the CRDTs in step, both ways.
// - Disk → CRDT: external creates, edits, renames and deletes. Text enters as
//   a diff against the text the file had when we last saw it (merge3), so a
//   stale save or a concurrent edit neither duplicates nor loses text.
// - CRDT → disk: writes notes that changed elsewhere (never a note open in an
//   editor: the editor owns that file), places renames and deletes, and
//   downloads attachments the index references.
// The engine's own writes are recognised by content hash (meta.disk).
// All work runs one job at a time, in order.
import { blake3Hex, pathFoldKey, type Entry } from './core';
import type { SyncEngine } from './engine';
import { INDEX } from './docs';
import { Attachments, type BinaryConflict } from './attachments';
import { SyncFilter } from './filter';
import { closestBase, importOnCopy, merge3 } from './merge3';
import type { BlobClient, Clock, Logger, Timer, VaultEvent, VaultFiles } from './ports';

export type { BinaryConflict } from './attachments';

const enc = new TextEncoder();
const NOTE_EXT = /\.(md|markdown|txt|canvas)$/i;
const RECENT = 16;
/** How long index changes gather before one reconcile pass takes them all. */
const RECONCILE_DELAY_MS = 20;
/**
 * How long a deleted note waits for a create of the same text before its
 * delete is synced. A rename made outside Obsidian (a file manager, git, a
 * script) reaches the vault as a delete and a create; matched within this
 * window it stays a rename and keeps the note's identity and history (issue 12.6).
 */
export const RENAME_WINDOW_MS = 2000;
/**
 * A start-up scan that misses this many synced files, and this share of
 * them, holds the deletes for the user: an iCloud eviction or a slow mount
 * looks like a mass delete, and syncing it would delete the notes everywhere.
 */
export const MASS_DELETE_MIN = 10;
export const MASS_DELETE_SHARE = 0.2;

export const isNotePath = (path: string) => NOTE_EXT.test(path);
const hashText = (text: string) => blake3Hex(enc.encode(text));

export class DiskMirror {
  private queue: Promise<void> = Promise.resolve();
  private busy = 0;
  private unsubscribe: (() => void) | undefined;
  /** path → the text last written or read there (the base of a disk edit). */
  private readonly diskText = new Map<string, string>();
  /** note id → its recent texts and their hashes (editor saves may lag the CRDT). */
  private readonly recent = new Map<string, { hash: string; text: string }[]>();
  /**
   * note id → the hash of every text the note had while an editor showed it.
   * Obsidian's autosave writes the buffer whenever typing pauses, and the
   * disk queue may reach that write many keystrokes later: such a save is the
   * editor's own past and must never be merged back as an outside edit (which
   * would undo the typing since). RECENT bounds the texts kept for merging;
   * the hashes are kept for as long as the note is open (issue 12.3).
   */
  private readonly seenWhileOpen = new Map<string, Set<string>>();
  /** disk path → the path it had before a rename whose event is still queued. */
  private readonly renamedFrom = new Map<string, string>();
  readonly attachments: Attachments;
  private readonly writeSoon = new Set<string>();
  /** Winners of a path conflict we lost, whose text must arrive before we merge into them. */
  private awaitingWinner = new Set<string>();
  private indexReady = false;
  /** Index entries this device refuses to act on (unsafe path, or a path
   * colliding with another on case-insensitive or normalising file systems):
   * id → [path, reason]. Rebuilt on every reconcile. */
  private blocked = new Map<string, [string, string]>();
  private reconcileQueued = false;
  private reconcileTimer: Timer | undefined;
  /** note id → a delete waiting RENAME_WINDOW_MS for a create of the same text. */
  private readonly pendingDeletes = new Map<string, { path: string; hash: string; timer: Timer }>();
  /** Deletes the start-up scan found but holds for the user: id → path. */
  private held = new Map<string, string>();

  constructor(
    private readonly engine: SyncEngine,
    private readonly vault: VaultFiles,
    private readonly blobs: BlobClient,
    private readonly log: Logger,
    private readonly clock: Clock,
    private readonly filter: SyncFilter = new SyncFilter(),
  ) {
    this.attachments = new Attachments(engine, vault, blobs, log, filter, {
      run: (job) => this.run(job),
      indexReady: () => this.indexReady,
    });
  }

  private get index() {
    return this.engine.docs.index;
  }
  private get meta() {
    return this.engine.meta.data;
  }

  async start(): Promise<void> {
    this.unsubscribe = this.vault.onEvent((e) => {
      // Recorded at once, not when the queue reaches the event: an open
      // editor already shows the new path and must keep its note meanwhile.
      if (e.type === 'rename') this.renamedFrom.set(e.path, e.oldPath);
      this.run(() => this.onEvent(e));
    });
    this.run(() => this.scan());
    await this.idle();
  }

  stop(): void {
    this.unsubscribe?.();
    // Unmatched deletes are deletes: a rename's create would have come by now.
    for (const id of [...this.pendingDeletes.keys()]) this.settleDelete(id);
    if (this.reconcileTimer) {
      this.reconcileTimer.cancel();
      this.reconcileTimer = undefined;
      this.reconcileQueued = false;
      this.busy--;
    }
  }

  idle(): Promise<void> {
    return this.queue;
  }
  isIdle(): boolean {
    return this.busy === 0;
  }

  conflicts(): BinaryConflict[] {
    return this.attachments.conflicts();
  }

  /** Files not synced on this device, path → reason: attachments left out
   * by selective sync, and index entries whose path is unsafe or collides. */
  skippedFiles(): Map<string, string> {
    const out = this.attachments.skippedFiles();
    for (const [path, why] of this.blocked.values()) out.set(path, why);
    return out;
  }

  /** Which shown entries must not touch the disk here, and why. An unsafe
   * path is refused by the core's policy; of paths that fold to one name
   * (`a.md`/`A.md`, NFC/NFD), the smallest id is written and the others wait
   * for the user to rename one, instead of overwriting each other in a loop. */
  private findBlocked(shown: Iterable<Entry>): Map<string, [string, string]> {
    const blocked = new Map<string, [string, string]>();
    const byFold = new Map<string, Entry>();
    for (const e of shown) {
      const unsafe = this.filter.unsafeReason(e.path);
      if (unsafe) {
        blocked.set(e.id, [e.path, `unsafe path: ${unsafe}`]);
        continue;
      }
      const key = pathFoldKey(e.path);
      const other = byFold.get(key);
      if (!other) {
        byFold.set(key, e);
        continue;
      }
      const [keep, drop] = e.id < other.id ? [e, other] : [other, e];
      byFold.set(key, keep);
      blocked.set(drop.id, [drop.path, `same name as ${keep.path} on case-insensitive file systems; rename one of them`]);
    }
    for (const [id, [path, why]] of blocked) {
      if (!this.blocked.has(id)) this.log.warn(`not syncing ${JSON.stringify(path)}: ${why}`);
    }
    return blocked;
  }

  resolveConflict(id: string, choice: 'local' | 'cloud'): Promise<void> {
    return this.attachments.resolveConflict(id, choice);
  }

  // ---- notifications from the engine -----------------------------------

  noteChanged(id: string, origin: 'local' | 'remote'): void {
    const note = this.engine.docs.loaded(id);
    if (note) {
      const list = this.recent.get(id) ?? [];
      list.push({ hash: note.contentHash(), text: note.text() });
      if (list.length > RECENT) list.shift();
      this.recent.set(id, list);
      if (this.engine.sessionFor(id)) {
        const seen = this.seenWhileOpen.get(id) ?? new Set<string>();
        seen.add(list[list.length - 1]!.hash);
        this.seenWhileOpen.set(id, seen);
      }
    }
    if (origin === 'remote' && !this.writeSoon.has(id)) {
      this.writeSoon.add(id);
      this.run(async () => {
        this.writeSoon.delete(id);
        await this.writeNote(id);
      });
    }
  }

  /** The last editor of a note closed: its autosaves can no longer lag behind it. */
  noteClosed(id: string): void {
    this.seenWhileOpen.delete(id);
  }

  /** The path `path` had before renames still waiting in the queue (itself if none). */
  formerPath(path: string): string {
    let p = path;
    for (let i = 0; i < 8; i++) {
      const direct = this.renamedFrom.get(p);
      if (direct !== undefined) {
        p = direct;
        continue;
      }
      // A folder move renames every descendant; the folder's own event may be the only one.
      const folder = [...this.renamedFrom].find(([to]) => p.startsWith(to + '/'));
      if (!folder) break;
      p = folder[1] + p.slice(folder[0].length);
    }
    return p;
  }

  indexChanged(): void {
    this.scheduleReconcile();
  }

  /** A note's content arrived on this connection: a merge may have waited for it. */
  noteSynced(id: string): void {
    if (this.awaitingWinner.has(id)) this.scheduleReconcile();
  }

  /** The index's content is known on this connection: attachments can be compared. */
  indexSynced(): void {
    this.indexReady = true;
    this.scheduleReconcile();
  }

  // ---- the job queue ---------------------------------------------------------

  private run(job: () => Promise<void>): void {
    this.busy++;
    this.queue = this.queue
      .then(job)
      .catch((e) => this.log.error(`disk sync: ${String(e)}`))
      .finally(() => {
        this.busy--;
        this.engine.updateStatus();
      });
  }

  // ---- disk → CRDT ---------------------------------------------------------

  private async scan(): Promise<void> {
    const files = await this.vault.list();
    const present = new Set(files.map((f) => f.path));
    for (const f of files) await this.importPath(f.path);
    // Files deleted while the app was closed.
    const missing: [string, string][] = [];
    let tracked = 0;
    for (const [id, path] of Object.entries(this.meta.placed)) {
      const e = this.index.get(id);
      if (!e || e.deleted || this.meta.disk[path] === undefined) continue;
      tracked++;
      if (!present.has(path)) missing.push([id, path]);
    }
    if (missing.length > MASS_DELETE_MIN && missing.length > tracked * MASS_DELETE_SHARE) {
      this.held = new Map(missing);
      this.log.warn(`${missing.length} of ${tracked} synced files are missing at start-up: deletes held until the user decides`);
      this.engine.updateStatus();
    } else for (const [id, path] of missing) this.deleteEntry(id, path);
    await this.engine.meta.save();
  }

  /** Paths the start-up scan found missing and holds (see MASS_DELETE_MIN). */
  heldDeletes(): string[] {
    return [...this.held.values()];
  }

  /**
   * The user's answer about held deletes: `delete` syncs the deletes of files
   * still missing; `restore` writes them back from the synced state. Files
   * that came back meanwhile (the mount was only slow) are left as they are.
   */
  resolveHeldDeletes(choice: 'delete' | 'restore'): Promise<void> {
    const held = this.held;
    this.held = new Map();
    return new Promise((resolve, reject) =>
      this.run(async () => {
        try {
          for (const [id, path] of held) {
            if (await this.vault.stat(path)) continue;
            if (this.meta.placed[id] !== path) continue;
            if (choice === 'delete') this.deleteEntry(id, path);
            else {
              delete this.meta.disk[path];
              this.diskText.delete(path);
            }
          }
          if (choice === 'restore') await this.reconcile();
          await this.engine.meta.save();
          this.engine.updateStatus();
          resolve();
        } catch (e) {
          reject(e instanceof Error ? e : new Error(String(e)));
        }
      }),
    );
  }

  /** Takes the file at `path` into the CRDTs (a create or an edit). */
  async importPath(path: string): Promise<void> {
    const stat = await this.vault.stat(path);
    if (!stat || !this.filter.pathSynced(path)) return;
    if (isNotePath(path)) return this.importNote(path, await this.vault.readText(path));
    await this.attachments.importBlob(path, stat.size);
  }

  private async importNote(path: string, text: string): Promise<void> {
    const h = hashText(text);
    if (this.meta.disk[path] === h) return; // our own write, or unchanged
    const entry = this.index.lookup(path);
    if (!entry && this.adoptRenamed(path, text, h)) return;
    if (!entry || entry.kind !== 'note') return this.createNote(path, text, h);
    const note = await this.engine.docs.note(entry.id);
    const current = note.text();
    const recent = this.recent.get(entry.id) ?? [];
    if (h === hashText(current) || recent.some((v) => v.hash === h) || this.seenWhileOpen.get(entry.id)?.has(h)) {
      // An editor save of a text the CRDT had: nothing new.
      this.remember(path, text, h);
      if (h !== hashText(current)) this.scheduleWrite(entry.id);
      return;
    }
    const base = closestBase(text, [this.diskText.get(path), ...recent.map((v) => v.text)], current);
    const merged = merge3(base, current, text);
    this.remember(path, text, h);
    this.applyText(entry.id, merged);
    if (merged !== text) this.scheduleWrite(entry.id);
  }

  /**
   * An editor opening `path` shows `editorText`. What it holds beyond the
   * text it loaded from disk is typing: not yet saved, or saved but not yet
   * imported. It goes into the note merged with what the note gained
   * meanwhile, rather than being overwritten by the CRDT's text (issue 12.5).
   * An editor showing the disk text, or an older version of the note, has
   * typed nothing: the CRDT's text is simply newer.
   */
  adoptEditorText(id: string, path: string, editorText: string): void {
    const note = this.engine.docs.loaded(id);
    if (!note) return;
    const current = note.text();
    const base = this.diskText.get(path);
    if (editorText === current || base === undefined || editorText === base) return;
    const h = hashText(editorText);
    if (this.recent.get(id)?.some((v) => v.hash === h)) return;
    this.applyText(id, merge3(base, current, editorText));
  }

  /** Brings a note to `text` as a diff, telling an open editor what changed. */
  private applyText(id: string, text: string): void {
    const note = this.engine.docs.loaded(id);
    if (!note) return;
    const update = importOnCopy(note, text);
    if (!update) return;
    const delta = note.applyRemote(update);
    this.engine.sessionFor(id)?.emitRemote(delta);
    this.engine.localUpdate(id, update);
  }

  private async createNote(path: string, text: string, h: string): Promise<void> {
    const created = this.index.create(path, 'note', undefined);
    const id = created.id;
    const note = await this.engine.docs.note(id);
    const update = note.importText(text);
    this.meta.created.push(id);
    this.meta.placed[id] = path;
    this.remember(path, text, h);
    // The text goes first, so a device resolving a path conflict finds it.
    if (update) this.engine.localUpdate(id, update);
    this.engine.localUpdate(INDEX, created.update);
    void this.engine.meta.save();
  }

  private async onEvent(e: VaultEvent): Promise<void> {
    switch (e.type) {
      case 'create':
      case 'modify':
        return this.importPath(e.path);
      case 'delete': {
        if (e.folder) return this.onFolderDelete(e.path);
        const entry = this.index.lookup(e.path);
        if (entry && this.meta.placed[entry.id] === e.path) this.deleteSoon(entry.id, e.path);
        else if (entry) this.scheduleReconcile();
        delete this.meta.disk[e.path];
        this.diskText.delete(e.path);
        return;
      }
      case 'rename':
        if (this.renamedFrom.get(e.path) === e.oldPath) this.renamedFrom.delete(e.path);
        return this.onRename(e.oldPath, e.path);
    }
  }

  private async onRename(from: string, to: string): Promise<void> {
    if (!this.filter.pathSynced(to)) return this.leaveSync(from);
    this.moveDiskState(from, to);
    const entry = this.index.lookup(from);
    if (entry && this.meta.placed[entry.id] === from) {
      this.engine.localUpdate(INDEX, this.index.rename(entry.id, to));
      this.meta.placed[entry.id] = to;
      return;
    }
    const moved = this.index.lookup(to);
    if (moved && this.meta.placed[moved.id] === to) return; // a rename we placed ourselves
    const prefix = from + '/';
    const inside = this.index.list().filter((x) => x.path.startsWith(prefix));
    if (inside.length > 0) {
      // A folder: one index transaction moves every file in it.
      this.engine.localUpdate(INDEX, this.index.moveFolder(from, to));
      for (const x of inside) {
        const newPath = to + '/' + x.path.slice(prefix.length);
        this.meta.placed[x.id] = newPath;
        this.moveDiskState(x.path, newPath);
      }
      return;
    }
    if (!this.index.lookup(to)) await this.importPath(to);
  }

  /** A file or folder moved where this device does not sync: gone, as far as others can tell. */
  private leaveSync(from: string): void {
    const prefix = from + '/';
    for (const e of this.index.list()) {
      const path = this.meta.placed[e.id];
      if (path === from || path?.startsWith(prefix)) this.deleteEntry(e.id, path);
    }
  }

  private moveDiskState(from: string, to: string): void {
    const h = this.meta.disk[from];
    if (h !== undefined) {
      this.meta.disk[to] = h;
      delete this.meta.disk[from];
    }
    const t = this.diskText.get(from);
    if (t !== undefined) {
      this.diskText.set(to, t);
      this.diskText.delete(from);
    }
  }

  /**
   * A folder went. Obsidian may report only the folder (plugins filtering
   * TFolder deletes kept stale entries: MohrJonas/obsidian-ocr#18,
   * Fertion/Obsidian_Better_trash#1), so every note placed inside it is
   * deleted here; per-file events, if they came first, left nothing to do.
   */
  private onFolderDelete(folder: string): void {
    const prefix = folder + '/';
    for (const [id, path] of Object.entries(this.meta.placed)) {
      if (!path.startsWith(prefix) || this.pendingDeletes.has(id)) continue;
      if (this.index.get(id)?.kind === 'note') this.deleteSoon(id, path);
      else this.deleteEntry(id, path);
    }
  }

  /** A note's file went: deleted once RENAME_WINDOW_MS pass without a create of its text. */
  private deleteSoon(id: string, path: string): void {
    if (this.pendingDeletes.has(id)) return; // the folder's event came first
    if (!isNotePath(path)) return this.deleteEntry(id, path);
    const hash = this.meta.disk[path];
    if (hash === undefined) return this.deleteEntry(id, path);
    this.busy++; // the wait counts as work: nobody sees the mirror idle with a delete unsent
    const timer = this.clock.setTimeout(() => this.run(async () => this.settleDelete(id)), RENAME_WINDOW_MS);
    this.pendingDeletes.set(id, { path, hash, timer });
  }

  private settleDelete(id: string): void {
    const pending = this.pendingDeletes.get(id);
    if (!pending) return;
    this.pendingDeletes.delete(id);
    pending.timer.cancel();
    this.busy--;
    if (this.meta.placed[id] === pending.path) this.deleteEntry(id, pending.path);
  }

  /** A new file with the text of a note deleted a moment ago: that note, renamed outside Obsidian. */
  private adoptRenamed(path: string, text: string, h: string): boolean {
    const match = [...this.pendingDeletes].find(([, p]) => p.hash === h);
    if (!match || !isNotePath(path)) return false;
    const [id, pending] = match;
    this.pendingDeletes.delete(id);
    pending.timer.cancel();
    this.busy--;
    this.engine.localUpdate(INDEX, this.index.rename(id, path));
    this.meta.placed[id] = path;
    this.remember(path, text, h);
    void this.engine.meta.save();
    return true;
  }

  private deleteEntry(id: string, path: string): void {
    this.engine.localUpdate(INDEX, this.index.delete(id));
    delete this.meta.placed[id];
    delete this.meta.disk[path];
    this.diskText.delete(path);
  }

  // ---- CRDT → disk -------------------------------------------------------------

  private scheduleWrite(id: string): void {
    this.noteChanged(id, 'remote');
  }

  /** One reconcile, a moment from now, covers every change until it starts:
   * a burst of index updates (a first sync) costs one O(vault) pass, not one
   * per update. The wait counts as busy, so nobody sees the mirror idle. */
  private scheduleReconcile(): void {
    if (this.reconcileQueued) return;
    this.reconcileQueued = true;
    this.busy++;
    this.reconcileTimer = this.clock.setTimeout(() => {
      this.reconcileTimer = undefined;
      this.run(async () => {
        this.reconcileQueued = false;
        await this.reconcile();
      });
      this.busy--;
    }, RECONCILE_DELAY_MS);
  }

  /** Makes the disk match the index: conflicts, renames, deletes, new files, attachments. */
  private async reconcile(): Promise<void> {
    await this.resolvePathConflicts();
    // The entry each path shows (smallest id, as Index.lookup decides), from
    // one listing: a lookup per entry would cross into WASM n times per pass.
    const shown = new Map<string, Entry>();
    for (const e of this.index.list()) {
      const other = shown.get(e.path);
      if (!other || e.id < other.id) shown.set(e.path, e);
    }
    const live = new Map<string, Entry>([...shown.values()].map((e) => [e.id, e]));
    this.blocked = this.findBlocked(live.values());
    const wanted = new Set([...live.values()].map((e) => e.path));
    for (const [id, path] of Object.entries(this.meta.placed)) {
      const e = live.get(id);
      if (e && e.path === path) continue;
      // A blocked entry moves nothing: our copy stays where it was, and a
      // path this device never placed safely is never trashed either.
      if (this.blocked.has(id) || this.filter.unsafeReason(path)) continue;
      delete this.meta.placed[id];
      const exists = await this.vault.stat(path);
      if (e && exists && !(await this.vault.stat(e.path))) {
        // Moved into a path this device ignores: the file moves, and stays ours alone.
        if (this.filter.pathSynced(e.path)) this.meta.placed[id] = e.path;
        this.moveDiskState(path, e.path);
        await this.vault.rename(path, e.path);
      } else if (exists && !wanted.has(path)) {
        delete this.meta.disk[path];
        this.diskText.delete(path);
        await this.vault.delete(path);
      }
    }
    for (const e of live.values()) {
      if (this.blocked.has(e.id) || !this.filter.pathSynced(e.path)) continue;
      if (e.kind === 'note') {
        if (this.meta.placed[e.id] !== e.path || this.meta.disk[e.path] === undefined) await this.writeNote(e.id);
      } else await this.attachments.place(e);
    }
    await this.attachments.flush();
    void this.engine.meta.save();
  }

  /** Entries this device created that lost a path to a smaller id: merge and retire. */
  private async resolvePathConflicts(): Promise<void> {
    // Rebuilt each time: a conflict can also end by a rename or delete elsewhere.
    const waiting = new Set<string>();
    try {
      await this.mergeLostPaths(waiting);
    } finally {
      this.awaitingWinner = waiting;
    }
  }

  private async mergeLostPaths(waiting: Set<string>): Promise<void> {
    // A set, and one filter at the end: a first sync of a large vault has a
    // conflict per note, and this pass runs each time winners' texts arrive.
    const created = new Set(this.meta.created);
    const retired = new Set<string>();
    for (const c of this.index.conflicts()) {
      for (const loser of c.losers) {
        if (!created.has(loser)) continue;
        // Merging into a winner whose text we have not received would add it all twice.
        if (isNotePath(c.path) && !this.engine.isSynced(c.winner)) {
          waiting.add(c.winner);
          this.engine.requestDoc(c.winner);
          continue;
        }
        const win = this.index.get(c.winner);
        const lose = this.index.get(loser);
        if (!win || !lose) continue;
        if (win.kind === 'note' && lose.kind === 'note') {
          if (!this.engine.isSynced(c.winner)) {
            waiting.add(c.winner);
            this.engine.requestDoc(c.winner);
            continue;
          }
          const winner = await this.engine.docs.note(c.winner);
          const ours = (await this.engine.docs.note(loser)).text();
          const update = winner.mergeUnion(ours);
          if (update) {
            this.engine.localUpdate(c.winner, update);
            this.noteChanged(c.winner, 'remote');
          }
        } else if (lose.hash && win.hash && lose.hash !== win.hash) {
          this.attachments.addConflict({
            id: c.winner,
            path: c.path,
            localHash: lose.hash,
            cloudHash: win.hash,
            ...(lose.size !== undefined ? { localSize: lose.size } : {}),
            ...(win.size !== undefined ? { cloudSize: win.size } : {}),
          });
        }
        this.engine.localUpdate(INDEX, this.index.retire(loser, c.winner));
        retired.add(loser);
        if (this.meta.placed[loser] === c.path) {
          delete this.meta.placed[loser];
          this.meta.placed[c.winner] = c.path;
          // Our copy's text is on disk; the winner's (merged) text replaces it.
          delete this.meta.disk[c.path];
        }
      }
    }
    if (retired.size > 0) this.meta.created = this.meta.created.filter((x) => !retired.has(x));
  }

  private async writeNote(id: string): Promise<void> {
    const entry = this.index.get(id);
    if (!entry || entry.deleted || entry.kind !== 'note') return;
    if (this.index.lookup(entry.path)?.id !== id) return;
    const path = entry.path;
    if (this.blocked.has(id) || !this.filter.pathSynced(path)) return;
    if (this.engine.isOpen(path)) return; // the editor owns an open note's file
    // Deleted here a moment ago: writing it back would resurrect it.
    if (this.pendingDeletes.has(id)) return;
    // Our own copy of this path is on disk and not merged in yet: writing the
    // winner's text now would show the user a version without their edits.
    if (this.awaitingWinner.has(id)) return;
    const note = await this.engine.docs.note(id);
    if (note.length === 0 && !this.engine.isSynced(id)) {
      // Not received yet: writing now would put an empty file where text is coming.
      this.engine.requestDoc(id);
      return;
    }
    const text = note.text();
    const h = hashText(text);
    this.meta.placed[id] = path;
    if (this.meta.disk[path] === h && (await this.vault.stat(path))) return;
    this.remember(path, text, h);
    await this.vault.writeText(path, text);
  }

  // ---- whole-vault operations ------------------------------------------------

  async uploadAll(progress: (done: number, total: number) => void): Promise<void> {
    const files = await this.vault.list();
    let done = 0;
    for (const f of files) {
      await new Promise<void>((resolve) => this.run(async () => {
        delete this.meta.disk[f.path];
        await this.importPath(f.path);
        resolve();
      }));
      progress(++done, files.length);
    }
  }

  async downloadAll(progress: (done: number, total: number) => void): Promise<void> {
    const entries = this.index.list();
    let done = 0;
    for (const e of entries) {
      await new Promise<void>((resolve) => this.run(async () => {
        if (this.blocked.has(e.id) || !this.filter.pathSynced(e.path)) {
          // Unsafe or colliding: listed as skipped, never written.
        } else if (e.kind === 'note') {
          delete this.meta.disk[e.path];
          await this.writeNote(e.id);
        } else await this.attachments.place(e);
        resolve();
      }));
      progress(++done, entries.length);
    }
  }

  private remember(path: string, text: string, h: string): void {
    this.meta.disk[path] = h;
    this.diskText.set(path, text);
  }
}
