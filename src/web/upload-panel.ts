/** Uploads: a button that opens the file picker, dropping files anywhere on the view, and a progress line per file. */
import { announce, formatSize, h } from './dom.js';
import type { Link } from './link.js';
import { uploadFile } from './upload.js';

export class UploadPanel {
  readonly element = h('ul', { class: 'uploads', 'aria-label': 'Uploads' });
  readonly buttons: HTMLElement[];
  readonly #link: Link;
  readonly #folder: () => string;
  readonly #changed: () => Promise<void>;
  readonly #input = h('input', { type: 'file', multiple: true, hidden: true, id: 'upload-input', 'aria-label': 'Files to upload' });

  constructor(link: Link, folder: () => string, changed: () => Promise<void>) {
    this.#link = link;
    this.#folder = folder;
    this.#changed = changed;
    this.#input.addEventListener('change', () => {
      const files = [...(this.#input.files ?? [])];
      this.#input.value = '';
      void this.upload(files);
    });
    this.buttons = [h('button', { type: 'button', class: 'primary', onclick: () => this.#input.click() }, 'Upload files'), this.#input];
  }

  /** Accepts files dropped on `target` (the upload button is the way without a pointer). */
  dropTarget(target: HTMLElement): void {
    target.addEventListener('dragover', (e) => {
      e.preventDefault();
      target.classList.add('dropping');
    });
    target.addEventListener('dragleave', () => target.classList.remove('dropping'));
    target.addEventListener('drop', (e) => {
      e.preventDefault();
      target.classList.remove('dropping');
      void this.upload([...(e.dataTransfer?.files ?? [])]);
    });
  }

  async upload(files: File[]): Promise<void> {
    let failed = 0;
    for (const file of files) {
      if (!(await this.#one(file))) failed++;
    }
    await this.#changed();
    if (files.length > 0)
      announce(
        failed === 0 ? `Uploaded ${files.length} file${files.length === 1 ? '' : 's'}.` : `${failed} of ${files.length} uploads failed.`,
      );
  }

  async #one(file: File): Promise<boolean> {
    const folder = this.#folder();
    const remote = folder === '' ? file.name : `${folder}/${file.name}`;
    const bar = h('progress', { max: String(Math.max(file.size, 1)), value: '0', 'aria-label': `Uploading ${file.name}` });
    const text = h('span', { class: 'upload-state' }, 'waiting');
    const item = h('li', {}, h('span', { class: 'upload-name' }, file.name), bar, text);
    this.element.prepend(item);
    const started = performance.now();
    try {
      await uploadFile(this.#link, file, remote, (sent, size) => {
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
