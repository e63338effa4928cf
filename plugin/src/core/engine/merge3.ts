// Three-way text merge through the CRDT itself: the base text becomes a doc,
// the two sides become edits on copies of it, and merging the copies gives a
// text holding both sides' changes exactly once. Used when a file changed on
// disk while the note also changed in the CRDT (typing, other devices): the
// disk change is replayed against the base it was made from, not the
// current text, so neither side's text is lost or duplicated.
import { WasmNote, randomClientId } from './core';

export function merge3(base: string, ours: string, theirs: string): string {
  if (theirs === base || theirs === ours) return ours;
  if (ours === base) return theirs;
  const root = new WasmNote(randomClientId());
  root.insert(0, base);
  const state = root.encodeState();
  const a = WasmNote.fromUpdate(randomClientId(), state);
  const b = WasmNote.fromUpdate(randomClientId(), state);
  a.importText(ours);
  const theirsUpdate = b.importText(theirs);
  if (theirsUpdate) a.applyRemote(theirsUpdate);
  const merged = a.text();
  root.free();
  a.free();
  b.free();
  return merged;
}
