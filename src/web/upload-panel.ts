/** Uploads: a button that opens the file picker, dropping files anywhere on the view, and a progress line per file. */
import { announce, formatSize, h } from './dom.js';
import type { LinkSource } from './link.js';
import { fromDrop, fromPicker, type Picked } from './picked.js';
import { UploadCancelled, uploadFile } from './upload.js';

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
    const outcomes: Outcome[] = [];
    try {
      for (const folder of folders) await (await this.#link()).change({ type: 'mkdir', path: this.#remote(folder) });
      for (const { file, path } of files) outcomes.push(await this.#one(file, path));
    } catch (err) {
      announce((err as Error).message, 'error');
    }
    await this.#changed();
    if (files.length > 0 || folders.length > 0) announce(summary(outcomes, files.length));
  }

  #remote(path: string): string {
    const folder = this.#folder();
    return folder === '' ? path : `${folder}/${path}`;
  }

  async #one(file: File, path: string): Promise<Outcome> {
    const remote = this.#remote(path);
    const bar = h('progress', { max: String(Math.max(file.size, 1)), value: '0', 'aria-label': `Uploading ${path}` });
    const text = h('span', { class: 'upload-state' }, 'waiting');
    const cancel = new AbortController();
    const button = h('button', { type: 'button', 'aria-label': `Cancel upload of ${path}`, onclick: () => cancel.abort() }, 'Cancel');
    const item = h('li', {}, h('span', { class: 'upload-name' }, path), bar, text, button);
    this.element.prepend(item);
    const started = performance.now();
    try {
      const progress = (sent: number, size: number) => {
        bar.value = size === 0 ? 1 : sent;
        text.textContent = progressText(sent, size, started);
      };
      await uploadFile(await this.#link(), file, remote, progress, cancel.signal);
      text.textContent = `done: ${formatSize(file.size)}`;
      item.classList.add('done');
      return 'done';
    } catch (err) {
      const cancelled = err instanceof UploadCancelled;
      text.textContent = cancelled ? 'cancelled' : `failed: ${(err as Error).message}`;
      item.classList.add(cancelled ? 'cancelled' : 'failed');
      if (!cancelled) announce(`${path}: ${(err as Error).message}`, 'error');
      return cancelled ? 'cancelled' : 'failed';
    } finally {
      button.remove();
    }
  }
}

type Outcome = 'done' | 'failed' | 'cancelled';

/** "Uploaded 3 files." or "Uploaded 1 of 3 files; 1 cancelled, 1 failed." */
function summary(outcomes: Outcome[], count: number): string {
  const n = (outcome: Outcome) => outcomes.filter((o) => o === outcome).length;
  const files = `${count} file${count === 1 ? '' : 's'}`;
  if (n('done') === count) return `Uploaded ${files}.`;
  const others = [n('cancelled') > 0 ? `${n('cancelled')} cancelled` : '', n('failed') > 0 ? `${n('failed')} failed` : ''];
  return `Uploaded ${n('done')} of ${files}; ${others.filter(Boolean).join(', ') || 'stopped'}.`;
}

function progressText(sent: number, size: number, started: number): string {
  const seconds = (performance.now() - started) / 1000;
  const rate = seconds > 0 ? sent / seconds : 0;
  const percent = size === 0 ? 100 : Math.floor((sent / size) * 100);
  const left = rate > 0 ? Math.ceil((size - sent) / rate) : undefined;
  return `${percent} % of ${formatSize(size)}${rate > 0 ? `, ${formatSize(rate)}/s` : ''}${left !== undefined && left > 0 ? `, ${left} s left` : ''}`;
}
