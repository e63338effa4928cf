// What a phone needs that the desktop has for free: a visible sync state
// (the status bar does not exist on mobile; a ribbon icon does, and its
// tooltip and icon follow the status), and reactions to the app going to the
// background and coming back, and to the network. The decisions (what to
// say, when to reconnect, what to flush) live in src/core.
import { Platform, setIcon, setTooltip, type Plugin } from 'obsidian';
import type { EnginePort } from '../core/port';
import { statusText } from '../core/ui/status-text';

const ICONS = { ok: 'cloud', busy: 'refresh-cw', warn: 'cloud-off', error: 'alert-triangle' } as const;

/** A ribbon icon showing the sync state; on mobile (no status bar) it is the status. */
export function mountRibbon(plugin: Plugin, engine: () => EnginePort, open: () => void): void {
  const el = plugin.addRibbonIcon(ICONS.warn, 'Tessera sync', open);
  el.addClass('tessera-ribbon');
  const render = (): void => {
    const view = statusText(engine().status());
    setIcon(el, ICONS[view.tone]);
    setTooltip(el, `Tessera: ${view.text}`);
    el.setAttribute('aria-label', `Tessera: ${view.text} — ${view.title}`);
    el.removeClass('tessera-status-ok', 'tessera-status-busy', 'tessera-status-warn', 'tessera-status-error');
    el.addClass(`tessera-status-${view.tone}`);
  };
  render();
  plugin.register(engine().onStatus(render));
}

/**
 * Background: write everything to the local store now (a phone may kill the
 * app there without another event). Foreground or network back: reconnect
 * at once instead of waiting out the backoff, or prove the socket still
 * lives (a socket that died asleep would show Connected for minutes).
 */
export function watchLifecycle(plugin: Plugin, engine: () => EnginePort, warn: (line: string) => void): void {
  const flush = (): void => {
    engine().flush().catch((e: unknown) => warn(`flush on background: ${String(e)}`));
  };
  plugin.registerDomEvent(document, 'visibilitychange', () => {
    if (document.visibilityState === 'hidden') flush();
    else engine().wake();
  });
  plugin.registerDomEvent(window, 'pagehide', flush);
  plugin.registerDomEvent(window, 'online', () => engine().wake());
  // Offline: the probe fails fast and the status says Offline now, not after the watchdog's silence.
  plugin.registerDomEvent(window, 'offline', () => engine().wake());
}

export const isMobile = (): boolean => Platform.isMobile;
