/** Property-based tests of the codec: valid streams survive any chunking; arbitrary bytes fail only with LPF_ERR_PROTOCOL. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LpfError } from '../../src/errors.js';
import {
  DATA_TYPE,
  SPECS,
  encodeDataHeader,
  encodeMessage,
  validateMessage,
  type Message,
  type MessageType,
} from '../../src/protocol/index.js';
import { decodeChunks, normalize, recordingDecoder, splitAt, type Event } from '../helpers/messages.js';

const RUNS = { numRuns: 300 };

/** Any string, lone surrogates included (JSON carries them as \uXXXX escapes). */
const anyString = fc.string({
  unit: fc.oneof(
    { weight: 9, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  ),
  maxLength: 40,
});
const uint = fc.oneof(fc.nat(1000), fc.maxSafeNat());
const sha256 = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 });
// fc.record builds null-prototype objects; decoded JSON has plain ones, and deepEqual compares prototypes.
const entry = fc
  .record({ name: anyString, size: uint, mtime: uint, dir: fc.boolean(), received: uint }, { requiredKeys: ['name', 'size', 'mtime'] })
  .map((e) => ({ ...e }));
const entries = fc.array(entry, { maxLength: 8 });

const FIELD_ARBITRARIES: Record<string, fc.Arbitrary<unknown>> = { string: anyString, uint, bool: fc.boolean(), sha256, entry, entries };

/** Built from SPECS, so a new message type or field is fuzzed without touching this file. */
const anyMessage: fc.Arbitrary<Message> = fc.oneof(
  ...(Object.keys(SPECS) as MessageType[]).map((type) => {
    const fields = Object.fromEntries(
      Object.entries(SPECS[type].fields).map(([field, kind]) => {
        const optional = kind.endsWith('?');
        const arbitrary = FIELD_ARBITRARIES[optional ? kind.slice(0, -1) : kind];
        if (!arbitrary) throw new Error(`no arbitrary for field kind ${kind}`);
        return [field, optional ? fc.option(arbitrary, { nil: undefined }) : arbitrary];
      }),
    );
    // An absent optional field is absent after decoding too, not undefined.
    const present = (body: Record<string, unknown>) => Object.fromEntries(Object.entries(body).filter(([, v]) => v !== undefined));
    return fc.record(fields).map((body) => ({ type, ...present(body) }) as Message);
  }),
);

type Item = { kind: 'message'; message: Message } | { kind: 'data'; bytes: Uint8Array };

const anyItem: fc.Arbitrary<Item> = fc.oneof(
  anyMessage.map((message) => ({ kind: 'message' as const, message })),
  fc.uint8Array({ maxLength: 3000 }).map((bytes) => ({ kind: 'data' as const, bytes })),
);

function encodeItem(item: Item): Buffer[] {
  if (item.kind === 'message') return [encodeMessage(item.message)];
  return [encodeDataHeader(item.bytes.length), Buffer.from(item.bytes)];
}

function expectedEvents(items: readonly Item[]): Event[] {
  return normalize(items.map((item) => (item.kind === 'message' ? item : { kind: 'data', bytes: Buffer.from(item.bytes) })));
}

const isProtocolError = (err: unknown) => err instanceof LpfError && err.code === 'LPF_ERR_PROTOCOL';

test('any sequence of valid frames decodes to itself under any chunking', { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(fc.array(anyItem, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 60 }), (items, cuts) => {
      const stream = Buffer.concat(items.flatMap(encodeItem));
      const chunks = splitAt(
        stream,
        cuts.map((c) => c % (stream.length + 1)),
      );
      assert.deepEqual(decodeChunks(chunks), expectedEvents(items));
    }),
    RUNS,
  );
});

// Inputs that reach past the header check: plausible frames with known, DATA and random type bytes,
// lengths that are right or slightly off, and payloads that are random bytes, arbitrary JSON, or valid JSON with a byte changed.
const typeByte = fc.oneof(fc.constantFrom(DATA_TYPE, ...Object.values(SPECS).map((s) => s.code)), fc.integer({ min: 0, max: 255 }));
const validPayload = anyMessage.map((m) => encodeMessage(m).subarray(5));
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.jsonValue().map((v) => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8')),
  fc.tuple(validPayload, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([p, at, byte]) => {
    const copy = Buffer.from(p);
    if (copy.length > 0) copy[at % copy.length] = byte;
    return copy;
  }),
  validPayload,
);
const plausibleFrame = fc.tuple(typeByte, payload, fc.integer({ min: -2, max: 2 })).map(([code, body, delta]) => {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(Math.max(0, body.length + 1 + delta), 0);
  header[4] = code;
  return Buffer.concat([header, body]);
});
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
  fc.array(plausibleFrame, { maxLength: 6 }).map((frames) => Buffer.concat(frames)),
);

test('arbitrary bytes either decode or fail with LPF_ERR_PROTOCOL, never anything else', { timeout: 30_000 }, () => {
  fc.assert(
    fc.property(anyBytes, fc.array(fc.nat(), { maxLength: 20 }), (bytes, cuts) => {
      const { decoder, events } = recordingDecoder();
      let failed = false;
      for (const chunk of splitAt(
        bytes,
        cuts.map((c) => c % (bytes.length + 1)),
      )) {
        try {
          decoder.push(chunk);
        } catch (err) {
          assert.ok(isProtocolError(err), `unexpected ${String(err)}`);
          failed = true;
          break;
        }
      }
      if (failed) assert.throws(() => decoder.push(Buffer.from([0])), isProtocolError);
      let dataBytes = 0;
      for (const event of events) {
        if (event.kind === 'data') dataBytes += event.bytes.length;
        // Whatever is delivered is a well-formed message of a known type.
        else assert.deepEqual(validateMessage(event.message.type, event.message), event.message);
      }
      assert.ok(dataBytes <= bytes.length);
    }),
    { numRuns: 1000 },
  );
});
