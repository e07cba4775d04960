/** The file browser: breadcrumbs, a sortable table of the folder, and its actions. */
import type { ListEntry } from '../protocol/messages.js';
import { announce, askChoice, askText, confirmAction, formatSize, h, show } from './dom.js';
import type { Link, LinkSource } from './link.js';
import type { Me } from './session.js';
import { UploadPanel } from './upload-panel.js';

type SortKey = 'name' | 'size' | 'mtime';

export class FilesView {
  readonly element: HTMLElement;
  readonly #link: LinkSource;
  readonly #crumbs = h('ol', {});
  readonly #body = h('tbody', {});
  readonly #head = h('tr', {});
  readonly #uploads: UploadPanel;
  /** The cut-off uploads the server kept for this folder, so the user knows what to choose again. */
  readonly #unfinished = h('ul', { class: 'unfinished', 'aria-label': 'Unfinished uploads', hidden: true });
  #path = '';
  #entries: ListEntry[] = [];
  #sort: { key: SortKey; up: boolean } = { key: 'name', up: true };

  constructor(link: LinkSource, me: Me, logOut: () => void) {
    this.#link = link;
    this.#uploads = new UploadPanel(
      link,
      () => this.#path,
      () => this.open(this.#path),
    );
    const header = h(
      'header',
      { class: 'top' },
      h('h1', {}, 'lpf'),
      h('p', { class: 'who' }, 'Signed in as ', h('strong', {}, me.user)),
      h('button', { type: 'button', onclick: logOut }, 'Log out'),
    );
    const toolbar = h(
      'div',
      { class: 'toolbar' },
      h('button', { type: 'button', onclick: () => void this.#mkdir() }, 'New folder'),
      ...this.#uploads.buttons,
    );
    const table = h('table', { 'aria-label': 'Files' }, h('thead', {}, this.#head), this.#body);
    this.element = h(
      'div',
      { class: 'files' },
      header,
      h('nav', { 'aria-label': 'Breadcrumbs' }, this.#crumbs),
      toolbar,
      this.#uploads.element,
      this.#unfinished,
      h('div', { class: 'table-wrap' }, table),
    );
    this.#uploads.dropTarget(this.element);
  }

  /** Shows the folder `path` ('' is the top). */
  async open(path: string): Promise<void> {
    let unfinished: ListEntry[];
    try {
      const link = await this.#link();
      [this.#entries, unfinished] = await Promise.all([link.list(path), link.unfinished(path)]);
    } catch (err) {
      return announce((err as Error).message, 'error');
    }
    this.#path = path;
    this.#renderCrumbs();
    this.#render();
    this.#renderUnfinished(unfinished);
  }

  #renderUnfinished(uploads: ListEntry[]): void {
    const items = uploads.map((u) =>
      h('li', {}, `${u.name}: ${formatSize(u.received ?? 0)} of ${formatSize(u.size)} received — choose the same file to continue.`),
    );
    this.#unfinished.hidden = items.length === 0;
    show(this.#unfinished, ...items);
  }

  #renderCrumbs(): void {
    const parts = this.#path === '' ? [] : this.#path.split('/');
    const items = [h('li', {}, this.#crumb('My files', '', parts.length === 0))];
    parts.forEach((part, i) => items.push(h('li', {}, this.#crumb(part, parts.slice(0, i + 1).join('/'), i === parts.length - 1))));
    show(this.#crumbs, ...items);
  }

  #crumb(label: string, path: string, current: boolean): HTMLElement {
    if (current) return h('span', { 'aria-current': 'page' }, label);
    return h('button', { type: 'button', class: 'link', onclick: () => void this.open(path) }, label);
  }

  #render(): void {
    const { key, up } = this.#sort;
    const headerCell = (label: string, sortKey: SortKey) =>
      h(
        'th',
        { scope: 'col', 'aria-sort': key === sortKey ? (up ? 'ascending' : 'descending') : 'none' },
        h(
          'button',
          { type: 'button', class: 'link', title: `Sort by ${label.toLowerCase()}`, onclick: () => this.#sortBy(sortKey) },
          label,
        ),
      );
    show(
      this.#head,
      headerCell('Name', 'name'),
      headerCell('Size', 'size'),
      headerCell('Modified', 'mtime'),
      h('th', { scope: 'col' }, 'SHA-256'),
      h('th', { scope: 'col' }, 'Actions'),
    );
    const sorted = [...this.#entries].sort((a, b) => compare(a, b, key, up ? 1 : -1));
    const rows = sorted.map((entry) => this.#row(entry));
    if (rows.length === 0)
      rows.push(h('tr', {}, h('td', { colspan: '5', class: 'empty' }, 'This folder is empty. Upload files or drop them here.')));
    show(this.#body, ...rows);
  }

  #sortBy(key: SortKey): void {
    this.#sort = { key, up: this.#sort.key === key ? !this.#sort.up : true };
    this.#render();
  }

  #row(entry: ListEntry): HTMLElement {
    const path = this.#path === '' ? entry.name : `${this.#path}/${entry.name}`;
    const href = `/api/file?path=${encodeURIComponent(path)}`;
    const name = entry.dir
      ? h('button', { type: 'button', class: 'link folder', onclick: () => void this.open(path) }, entry.name)
      : h('a', { href, download: entry.name, class: 'file' }, entry.name);
    const zip = entry.dir
      ? h('a', { href, download: `${entry.name}.zip`, class: 'button', 'aria-label': `Download ${entry.name} as zip` }, 'Zip')
      : '';
    const actions = h(
      'td',
      { class: 'actions' },
      zip,
      h('button', { type: 'button', onclick: () => void this.#rename(entry, path), 'aria-label': `Rename ${entry.name}` }, 'Rename'),
      h('button', { type: 'button', onclick: () => void this.#move(entry, path), 'aria-label': `Move ${entry.name}` }, 'Move'),
      h(
        'button',
        { type: 'button', class: 'danger', onclick: () => void this.#delete(entry, path), 'aria-label': `Delete ${entry.name}` },
        'Delete',
      ),
    );
    return h(
      'tr',
      {},
      h(
        'th',
        { scope: 'row' },
        name,
        entry.sha256 ? h('small', { class: 'sha-line', 'aria-hidden': 'true' }, `SHA-256 ${entry.sha256.slice(0, 16)}…`) : '',
      ),
      h('td', { class: 'size' }, entry.dir ? 'folder' : formatSize(entry.size)),
      h('td', {}, new Date(entry.mtime).toLocaleString()),
      h('td', { class: 'sha' }, entry.sha256 ? h('code', { title: entry.sha256 }, entry.sha256) : ''),
      actions,
    );
  }

  async #mkdir(): Promise<void> {
    const name = await askText('New folder', 'Folder name', '', 'Create');
    if (!name) return;
    await this.#change({ type: 'mkdir', path: this.#join(name) }, `Created the folder ${name}.`);
  }

  async #rename(entry: ListEntry, path: string): Promise<void> {
    const name = await askText(`Rename ${entry.name}`, 'New name', entry.name, 'Rename');
    if (!name || name === entry.name) return;
    await this.#change({ type: 'rename', from: path, to: this.#join(name) }, `Renamed ${entry.name} to ${name}.`);
  }

  /** Moves into a folder picked from all of the user's, but the one it is in and (for a folder) itself and its own. */
  async #move(entry: ListEntry, path: string): Promise<void> {
    let folders: string[];
    try {
      folders = await (await this.#link()).folders();
    } catch (err) {
      return announce((err as Error).message, 'error');
    }
    const inside = (folder: string) => entry.dir && (folder === path || folder.startsWith(`${path}/`));
    const choices = ['', ...folders]
      .filter((folder) => folder !== this.#path && !inside(folder))
      .map((folder) => ({ value: folder, label: folder === '' ? 'My files (the top)' : folder }));
    if (choices.length === 0) return announce(`There is no other folder to move ${entry.name} to.`, 'error');
    const target = await askChoice(`Move ${entry.name}`, 'Destination folder', choices, 'Move');
    if (target === undefined) return;
    const to = target === '' ? entry.name : `${target}/${entry.name}`;
    await this.#change({ type: 'rename', from: path, to }, `Moved ${entry.name} to ${target === '' ? 'My files' : target}.`);
  }

  async #delete(entry: ListEntry, path: string): Promise<void> {
    const what = entry.dir ? 'folder' : 'file';
    if (!(await confirmAction(`Delete ${entry.name}?`, `The ${what} ${entry.name} will be deleted for good.`, 'Delete'))) return;
    await this.#change({ type: 'delete', name: path }, `Deleted ${entry.name}.`);
  }

  async #change(message: Parameters<Link['change']>[0], done: string): Promise<void> {
    try {
      await (await this.#link()).change(message);
      announce('', 'error');
      announce(done);
    } catch (err) {
      announce((err as Error).message, 'error');
    }
    await this.open(this.#path);
  }

  #join(name: string): string {
    return this.#path === '' ? name : `${this.#path}/${name}`;
  }
}

/** Folders first whichever the direction, then by `key` in `direction` (1 or -1), then by name. */
function compare(a: ListEntry, b: ListEntry, key: SortKey, direction: number): number {
  if (Boolean(a.dir) !== Boolean(b.dir)) return a.dir ? -1 : 1;
  if (key === 'name') return a.name.localeCompare(b.name) * direction;
  return (a[key] - b[key]) * direction || a.name.localeCompare(b.name);
}
