import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  LIST_PAGE_BYTES,
  LIST_PAGE_SIZE,
  MAX_CONTROL_PAYLOAD,
  encodeMessage,
  paginateEntries,
  type ListEntry,
} from '../../src/protocol/index.js';

const entry = (name: string): ListEntry => ({ name, size: 2 ** 40, mtime: 1_800_000_000_000 });

test('an empty listing is one empty page', () => {
  assert.deepEqual(paginateEntries([], LIST_PAGE_SIZE, LIST_PAGE_BYTES), [[]]);
});

test('pages keep every entry in order and respect the count limit', () => {
  const entries = Array.from({ length: 300 }, (_, i) => entry(`f${i}`));
  const pages = paginateEntries(entries, LIST_PAGE_SIZE, LIST_PAGE_BYTES);
  assert.deepEqual(
    pages.map((p) => p.length),
    [128, 128, 44],
  );
  assert.deepEqual(pages.flat(), entries);
});

test('names that escape to twice their size never push a page over the control frame limit', () => {
  // 250 quote marks: legal in a name, 500 bytes once JSON-escaped.
  const entries = Array.from({ length: 1000 }, (_, i) => entry(`${i}${'"'.repeat(250)}`));
  const pages = paginateEntries(entries, LIST_PAGE_SIZE, LIST_PAGE_BYTES);
  assert.deepEqual(pages.flat(), entries);
  for (const [i, page] of pages.entries()) {
    const frame = encodeMessage({ type: 'list_page', entries: page, done: i === pages.length - 1 });
    assert.ok(frame.length - 5 <= MAX_CONTROL_PAYLOAD);
  }
});
