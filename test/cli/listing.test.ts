/** How -list shows names: never as something a terminal would obey. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { printListing } from '../../src/cli/listing.js';

/** A stand-in for stdout at a terminal, keeping what is written. */
function terminal(): NodeJS.WriteStream & { text: string } {
  const stream = { isTTY: true, text: '', write: (s: string) => ((stream.text += s), true) };
  return stream as unknown as NodeJS.WriteStream & { text: string };
}

test('bidirectional overrides and isolates in a name are escaped as control characters are', () => {
  const names = ['\u202ecod.exe', 'a\u2066b\u2069c', 'l\u200er\u200fm\u061c', 'bell\u0007'];
  const out = terminal();
  printListing(
    names.map((name) => ({ name, size: 1, mtime: 0 })),
    false,
    out,
  );
  assert.doesNotMatch(out.text, /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u);
  assert.ok(!out.text.includes('\u0007'), 'the bell is escaped');
  for (const shown of ['?cod.exe', 'a?b?c', 'l?r?m?', 'bell?'])
    assert.ok(out.text.includes(shown), `${shown} in ${JSON.stringify(out.text)}`);
});
