// What `require('obsidian')` returns in the host harness: the API surface the
// plugin uses (grep "from 'obsidian'" in src/), one file per area.
export { App, Component, Plugin, Platform, requestUrl } from './app';
export { Notice, Modal, PluginSettingTab, Setting, TextComponent, TextAreaComponent, setIcon, setTooltip } from './ui';
export { editorInfoField, ItemView, MarkdownView, WorkspaceLeaf, Workspace } from './workspace';
export { FileManager, normalizePath, TAbstractFile, TFile, TFolder, Vault } from './vault';
export { Events } from './events';
