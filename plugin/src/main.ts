// Obsidian loads the default export of main.js: the adapter's Plugin class.
export { default } from './obsidian/plugin';
