/** Uploads: a button that opens the file picker, dropping files anywhere on the view, and a progress line per file. */
import { announce, formatSize, h } from './dom.js';
import type { LinkSource } from './link.js';
import { fromDrop, fromPicker, type Picked } from './picked.js';
import { uploadFile } from './upload.js';

export class UploadPanel {
  readonly element = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });
  readonly buttons: HTMLElement[];
  readonly #link: LinkSource;
  readonly #folder: () => string;
  readonly #changed: () => Promise<void>;

  constructor(link: LinkSource, folder: () => string, changed: () => Promise<void>) {
    this.#link = link;
    this.#folder = folder;
    this.#changed = changed;
    // Hidden inputs cannot take focus: real buttons open them.
    const files = this.#picker({ multiple: true, 'aria-label': 'Files to upload' });
    const tree = this.#picker({ webkitdirectory: true, 'aria-label': 'Folder to upload' });
    this.buttons = [
      h('button', { type: 'button', class: 'primary', onclick: () => files.click() }, 'Upload files'),
      h('button', { type: 'button', onclick: () => tree.click() }, 'Upload folder'),
      files,
      tree,
    ];
  }

  #picker(attrs: Record<string, string | boolean>): HTMLInputElement {
    const input = h('input', { type: 'file', hidden: true, ...attrs });
    input.addEventListener('change', () => {
      const picked = fromPicker(input.files);
      input.value = '';
      void this.upload(picked);
    });
    return input;
  }

  /** Accepts files and folders dropped on `target` (the upload buttons are the way without a pointer). */
  dropTarget(target: HTMLElement): void {
    target.addEventListener('dragover', (e) => {
      e.preventDefault();
      target.classList.add('dropping');
    });
    target.addEventListener('dragleave', () => target.classList.remove('dropping'));
    target.addEventListener('drop', (e) => {
      e.preventDefault();
      target.classList.remove('dropping');
      void fromDrop(e.dataTransfer).then((picked) => this.upload(picked));
    });
  }

  /** Makes the folders, then uploads the files one after the other, each with its progress line. */
  async upload({ files, folders }: Picked): Promise<void> {
    let failed = 0;
    try {
      for (const folder of folders) await (await this.#link()).change({ type: 'mkdir', path: this.#remote(folder) });
      for (const { file, path } of files) {
        if (!(await this.#one(file, path))) failed++;
      }
    } catch (err) {
      announce((err as Error).message, 'error');
      failed = files.length;
    }
    await this.#changed();
    const count = `${files.length} file${files.length === 1 ? '' : 's'}`;
    if (files.length > 0 || folders.length > 0) announce(failed === 0 ? `Uploaded ${count}.` : `${failed} of ${count} failed to upload.`);
  }

  #remote(path: string): string {
    const folder = this.#folder();
    return folder === '' ? path : `${folder}/${path}`;
  }

  async #one(file: File, path: string): Promise<boolean> {
    const remote = this.#remote(path);
    const bar = h('progress', { max: String(Math.max(file.size, 1)), value: '0', 'aria-label': `Uploading ${path}` });
    const text = h('span', { class: 'upload-state' }, 'waiting');
    const item = h('li', {}, h('span', { class: 'upload-name' }, path), bar, text);
    this.element.prepend(item);
    const started = performance.now();
    try {
      await uploadFile(await this.#link(), file, remote, (sent, size) => {
        bar.value = size === 0 ? 1 : sent;
        text.textContent = progressText(sent, size, started);
      });
      text.textContent = `done: ${formatSize(file.size)}`;
      item.classList.add('done');
      return true;
    } catch (err) {
      text.textContent = `failed: ${(err as Error).message}`;
      item.classList.add('failed');
      announce(`${file.name}: ${(err as Error).message}`, 'error');
      return false;
    }
  }
}

function progressText(sent: number, size: number, started: number): string {
  const seconds = (performance.now() - started) / 1000;
  const rate = seconds > 0 ? sent / seconds : 0;
  const percent = size === 0 ? 100 : Math.floor((sent / size) * 100);
  const left = rate > 0 ? Math.ceil((size - sent) / rate) : undefined;
  return `${percent} % of ${formatSize(size)}${rate > 0 ? `, ${formatSize(rate)}/s` : ''}${left !== undefined && left > 0 ? `, ${left} s left` : ''}`;
}
