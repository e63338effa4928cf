// The status bar item: one line of text from core/ui/status-text, a tooltip,
// and a click that opens the status view.
import { statusText } from '../core/ui/status-text';
import type { EnginePort } from '../core/port';

export function mountStatusBar(el: HTMLElement, engine: EnginePort, onClick: () => void): () => void {
  el.addClass('tessera-status', 'mod-clickable');
  el.addEventListener('click', onClick);
  const render = (): void => {
    const view = statusText(engine.status());
    el.setText(`Tessera: ${view.text}`);
    el.setAttribute('aria-label', view.title);
    el.setAttribute('data-tooltip-position', 'top');
    el.removeClass('tessera-status-ok', 'tessera-status-busy', 'tessera-status-warn', 'tessera-status-error');
    el.addClass(`tessera-status-${view.tone}`);
  };
  render();
  const off = engine.onStatus(render);
  return () => {
    off();
    el.removeEventListener('click', onClick);
  };
}
