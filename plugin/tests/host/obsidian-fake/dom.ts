// Obsidian's additions to HTMLElement that the plugin calls (obsidian.d.ts,
// "global" section: createEl, createDiv, empty, setText, addClass, removeClass).
type Opts = { text?: string; cls?: string | string[]; attr?: Record<string, string> } | string;

function make<K extends keyof HTMLElementTagNameMap>(parent: HTMLElement | undefined, tag: K, o?: Opts): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  const opts = typeof o === 'string' ? { cls: o } : o ?? {};
  if (opts.text !== undefined) el.textContent = opts.text;
  if (opts.cls) el.classList.add(...(Array.isArray(opts.cls) ? opts.cls : opts.cls.split(' ').filter(Boolean)));
  for (const [k, v] of Object.entries(opts.attr ?? {})) el.setAttribute(k, v);
  parent?.appendChild(el);
  return el;
}

export function installDomHelpers(): void {
  const p = HTMLElement.prototype as unknown as Record<string, unknown>;
  p.createEl = function (this: HTMLElement, tag: keyof HTMLElementTagNameMap, o?: Opts) {
    return make(this, tag, o);
  };
  p.createDiv = function (this: HTMLElement, o?: Opts) {
    return make(this, 'div', o);
  };
  p.createSpan = function (this: HTMLElement, o?: Opts) {
    return make(this, 'span', o);
  };
  p.empty = function (this: HTMLElement) {
    this.replaceChildren();
  };
  p.setText = function (this: HTMLElement, t: string) {
    this.textContent = t;
  };
  p.addClass = function (this: HTMLElement, ...c: string[]) {
    this.classList.add(...c);
  };
  p.removeClass = function (this: HTMLElement, ...c: string[]) {
    this.classList.remove(...c);
  };
  p.toggleClass = function (this: HTMLElement, c: string, on: boolean) {
    this.classList.toggle(c, on);
  };
  (globalThis as Record<string, unknown>).createEl = (tag: keyof HTMLElementTagNameMap, o?: Opts) => make(undefined, tag, o);
  (globalThis as Record<string, unknown>).createDiv = (o?: Opts) => make(undefined, 'div', o);
}
