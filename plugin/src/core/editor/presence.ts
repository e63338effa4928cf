// Other devices' cursors and selections as CodeMirror decorations: a caret
// widget labelled with the device name, and a translucent selection mark,
// both in the device's colour. Offsets are mapped through every later change,
// so a remote caret stays on its character while this device types.
import { StateEffect, StateField, type EditorState, type Range } from '@codemirror/state';
import { Decoration, EditorView, WidgetType, type DecorationSet } from '@codemirror/view';
import type { Presence } from '../contract';

/** A peer's cursor as drawn: offsets clamped to the document, colour vetted. */
export interface PeerMark {
  clientId: number;
  name: string;
  color: string;
  anchor: number;
  head: number;
}

const HEX_COLOR = /^#(?:[0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;

/**
 * The colour to draw a peer in. Names and colours come from other devices
 * over the network and end up in a style attribute, so only `#rgb[a]` and
 * `#rrggbb[aa]` pass; anything else gets a stable hue derived from the id.
 */
export function safeColor(color: string, clientId: number): string {
  if (HEX_COLOR.test(color)) return color;
  return `hsl(${Math.abs(clientId * 47) % 360}, 70%, 45%)`;
}

/** The peers that have a cursor here, clamped to `docLength`. Pure. */
export function peerMarks(peers: readonly Presence[], docLength: number): PeerMark[] {
  const clamp = (n: number): number => Math.max(0, Math.min(docLength, Math.trunc(n)));
  const marks: PeerMark[] = [];
  for (const peer of peers) {
    if (peer.head === null || !Number.isFinite(peer.head)) continue;
    const head = clamp(peer.head);
    const anchor = peer.anchor === null || !Number.isFinite(peer.anchor) ? head : clamp(peer.anchor);
    marks.push({
      clientId: peer.clientId,
      name: peer.name || `device ${peer.clientId}`,
      color: safeColor(peer.color, peer.clientId),
      anchor,
      head,
    });
  }
  return marks;
}

class CaretWidget extends WidgetType {
  constructor(readonly name: string, readonly color: string) {
    super();
  }

  override eq(other: CaretWidget): boolean {
    return other.name === this.name && other.color === this.color;
  }

  toDOM(): HTMLElement {
    const caret = document.createElement('span');
    caret.className = 'tessera-caret';
    caret.style.setProperty('--tessera-peer-color', this.color);
    caret.setAttribute('aria-hidden', 'true');
    const label = document.createElement('span');
    label.className = 'tessera-caret-label';
    // textContent, never innerHTML: the name is another device's input.
    label.textContent = this.name;
    caret.appendChild(label);
    return caret;
  }

  override ignoreEvent(): boolean {
    return true;
  }
}

function buildDecorations(marks: readonly PeerMark[]): DecorationSet {
  const ranges: Range<Decoration>[] = [];
  for (const mark of marks) {
    const from = Math.min(mark.anchor, mark.head);
    const to = Math.max(mark.anchor, mark.head);
    if (to > from) {
      ranges.push(
        Decoration.mark({
          class: 'tessera-selection',
          attributes: { style: `--tessera-peer-color: ${mark.color}`, 'data-tessera-peer': mark.name },
        }).range(from, to),
      );
    }
    ranges.push(
      Decoration.widget({ widget: new CaretWidget(mark.name, mark.color), side: mark.head >= mark.anchor ? 1 : -1 }).range(mark.head),
    );
  }
  return Decoration.set(ranges, true);
}

/** Replaces the drawn peers. */
export const setPeers = StateEffect.define<readonly Presence[]>();

/** The peers' decorations, rebuilt on `setPeers`, mapped through changes otherwise. */
export const peerField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(decorations, tr) {
    let next = decorations.map(tr.changes);
    for (const effect of tr.effects) {
      if (effect.is(setPeers)) next = buildDecorations(peerMarks(effect.value, tr.state.doc.length));
    }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** The peers currently drawn, for tests and the status view. */
export function drawnPeerCount(state: EditorState): number {
  let count = 0;
  state.field(peerField, false)?.between(0, state.doc.length, (_from, _to, value) => {
    if (value.spec.widget instanceof CaretWidget) count++;
  });
  return count;
}
