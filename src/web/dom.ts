/** Small DOM helpers. Text from the server (names, messages) only ever goes in as text nodes, never as markup. */

type Attrs = Record<string, string | boolean | ((event: Event) => void) | undefined>;

/** An element with attributes, `on…` listeners and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : value);
  }
  element.append(...children);
  return element;
}

/** Replaces the children of `parent`. */
export function show(parent: Element, ...children: (Node | string)[]): void {
  parent.replaceChildren(...children);
}

/** Says `text` through the page's live region (read out by screen readers) and shows it. */
export function announce(text: string, kind: 'status' | 'error' = 'status'): void {
  const region = document.getElementById(kind === 'error' ? 'errors' : 'status');
  if (region) region.textContent = text;
}

/** A modal dialog asking for one text value; resolves with it, or undefined when cancelled. */
export function askText(title: string, label: string, value = '', action = 'OK'): Promise<string | undefined> {
  const input = h('input', { type: 'text', id: 'dialog-input', value, required: true, autocomplete: 'off' });
  return modal(title, [h('label', { for: 'dialog-input' }, label), input], action).then((ok) => (ok ? input.value : undefined));
}

/** A modal dialog asking to pick one of `choices` from a list; resolves with its value, or undefined when cancelled. */
export function askChoice(
  title: string,
  label: string,
  choices: { value: string; label: string }[],
  action: string,
): Promise<string | undefined> {
  const select = h('select', { id: 'dialog-choice' }, ...choices.map((c) => h('option', { value: c.value }, c.label)));
  return modal(title, [h('label', { for: 'dialog-choice' }, label), select], action).then((ok) => (ok ? select.value : undefined));
}

/** A modal dialog asking to confirm `question`. */
export function confirmAction(title: string, question: string, action: string): Promise<boolean> {
  return modal(title, [h('p', {}, question)], action);
}

function modal(title: string, body: Node[], action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title' });
    const form = h(
      'form',
      { method: 'dialog' },
      h('h2', { id: 'dialog-title' }, title),
      ...body,
      h(
        'div',
        { class: 'buttons' },
        h('button', { value: 'cancel', type: 'submit', formnovalidate: true }, 'Cancel'),
        h('button', { value: 'ok', type: 'submit', class: 'primary' }, action),
      ),
    );
    dialog.append(form);
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}
