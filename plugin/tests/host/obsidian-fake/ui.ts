// Settings tab, Setting and its components, Modal, Notice.
// - Text components: `onChange` fires on every `input` event, i.e. per
//   keystroke (obsidian.d.ts AbstractTextComponent.onChange / onChanged);
//   the DOM `change` event fires when the field is committed.
// - PluginSettingTab.display() runs when the tab is opened, hide() when closed.
import type { App, Plugin } from './app';

export const notices: string[] = [];
export class Notice {
  constructor(public message: string | DocumentFragment) {
    notices.push(String(typeof message === 'string' ? message : message.textContent));
  }
  setMessage(m: string): this {
    notices.push(m);
    return this;
  }
  hide(): void {}
}

export class PluginSettingTab {
  containerEl: HTMLElement = createDiv({ cls: 'vertical-tab-content' });
  constructor(
    public app: App,
    public plugin: Plugin,
  ) {}
  display(): void {}
  hide(): void {}
}

class ValueComponent<T> {
  protected handler: ((v: T) => unknown) | undefined;
  onChange(fn: (v: T) => unknown): this {
    this.handler = fn;
    return this;
  }
}

class TextLike extends ValueComponent<string> {
  constructor(public inputEl: HTMLInputElement | HTMLTextAreaElement) {
    super();
    inputEl.addEventListener('input', () => this.handler?.(inputEl.value));
  }
  setValue(v: string): this {
    this.inputEl.value = v;
    return this;
  }
  getValue(): string {
    return this.inputEl.value;
  }
  setPlaceholder(p: string): this {
    this.inputEl.placeholder = p;
    return this;
  }
  setDisabled(d: boolean): this {
    this.inputEl.disabled = d;
    return this;
  }
}
export class TextComponent extends TextLike {}
export class TextAreaComponent extends TextLike {}

export class ToggleComponent extends ValueComponent<boolean> {
  readonly toggleEl: HTMLInputElement;
  constructor(parent: HTMLElement) {
    super();
    this.toggleEl = parent.createEl('input', { attr: { type: 'checkbox' } });
    this.toggleEl.addEventListener('change', () => this.handler?.(this.toggleEl.checked));
  }
  setValue(v: boolean): this {
    this.toggleEl.checked = v;
    return this;
  }
}

export class DropdownComponent extends ValueComponent<string> {
  readonly selectEl: HTMLSelectElement;
  constructor(parent: HTMLElement) {
    super();
    this.selectEl = parent.createEl('select');
    this.selectEl.addEventListener('change', () => this.handler?.(this.selectEl.value));
  }
  addOptions(o: Record<string, string>): this {
    for (const [value, text] of Object.entries(o)) this.selectEl.createEl('option', { text, attr: { value } });
    return this;
  }
  setValue(v: string): this {
    this.selectEl.value = v;
    return this;
  }
}

export class ColorComponent extends ValueComponent<string> {
  readonly colorEl: HTMLInputElement;
  constructor(parent: HTMLElement) {
    super();
    this.colorEl = parent.createEl('input', { attr: { type: 'color' } });
    this.colorEl.addEventListener('change', () => this.handler?.(this.colorEl.value));
  }
  setValue(v: string): this {
    this.colorEl.value = v;
    return this;
  }
}

export class ButtonComponent {
  readonly buttonEl: HTMLButtonElement;
  constructor(parent: HTMLElement) {
    this.buttonEl = parent.createEl('button');
  }
  setButtonText(t: string): this {
    this.buttonEl.textContent = t;
    return this;
  }
  setCta(): this {
    this.buttonEl.classList.add('mod-cta');
    return this;
  }
  setWarning(): this {
    this.buttonEl.classList.add('mod-warning');
    return this;
  }
  setDisabled(d: boolean): this {
    this.buttonEl.disabled = d;
    return this;
  }
  setIcon(): this {
    return this;
  }
  setTooltip(): this {
    return this;
  }
  onClick(fn: (e: MouseEvent) => unknown): this {
    this.buttonEl.addEventListener('click', (e) => void fn(e));
    return this;
  }
}

export class Setting {
  readonly settingEl: HTMLElement;
  readonly nameEl: HTMLElement;
  readonly descEl: HTMLElement;
  readonly controlEl: HTMLElement;
  constructor(parent: HTMLElement) {
    this.settingEl = parent.createDiv({ cls: 'setting-item' });
    const info = this.settingEl.createDiv({ cls: 'setting-item-info' });
    this.nameEl = info.createDiv({ cls: 'setting-item-name' });
    this.descEl = info.createDiv({ cls: 'setting-item-description' });
    this.controlEl = this.settingEl.createDiv({ cls: 'setting-item-control' });
  }
  setName(n: string): this {
    this.nameEl.textContent = n;
    return this;
  }
  setDesc(d: string | DocumentFragment): this {
    this.descEl.replaceChildren(d);
    return this;
  }
  setHeading(): this {
    this.settingEl.classList.add('setting-item-heading');
    return this;
  }
  setClass(c: string): this {
    this.settingEl.classList.add(c);
    return this;
  }
  addText(fn: (t: TextComponent) => unknown): this {
    fn(new TextComponent(this.controlEl.createEl('input', { attr: { type: 'text' } })));
    return this;
  }
  addTextArea(fn: (t: TextAreaComponent) => unknown): this {
    fn(new TextAreaComponent(this.controlEl.createEl('textarea')));
    return this;
  }
  addToggle(fn: (t: ToggleComponent) => unknown): this {
    fn(new ToggleComponent(this.controlEl));
    return this;
  }
  addDropdown(fn: (t: DropdownComponent) => unknown): this {
    fn(new DropdownComponent(this.controlEl));
    return this;
  }
  addColorPicker(fn: (t: ColorComponent) => unknown): this {
    fn(new ColorComponent(this.controlEl));
    return this;
  }
  addButton(fn: (t: ButtonComponent) => unknown): this {
    fn(new ButtonComponent(this.controlEl));
    return this;
  }
  addExtraButton(fn: (t: ButtonComponent) => unknown): this {
    return this.addButton(fn);
  }
}

export class Modal {
  readonly modalEl = createDiv({ cls: 'modal' });
  readonly titleEl = this.modalEl.createDiv({ cls: 'modal-title' });
  readonly contentEl = this.modalEl.createDiv({ cls: 'modal-content' });
  constructor(public app: App) {}
  open(): void {
    document.body.appendChild(this.modalEl);
    this.onOpen();
  }
  close(): void {
    this.modalEl.remove();
    this.onClose();
  }
  setTitle(t: string): this {
    this.titleEl.textContent = t;
    return this;
  }
  onOpen(): void {}
  onClose(): void {}
}

declare function createDiv(o?: { cls?: string }): HTMLDivElement;

/** obsidian.d.ts setIcon(parent, iconId): renders a Lucide icon into `parent`; here the id is kept as data-icon. */
export function setIcon(parent: HTMLElement, iconId: string): void {
  parent.dataset.icon = iconId;
}

/** obsidian.d.ts setTooltip(el, tooltip, options?) (1.1.0): Obsidian shows it from aria-label. */
export function setTooltip(el: HTMLElement, tooltip: string): void {
  el.setAttribute('aria-label', tooltip);
}
