/** The wire codec: encoder and incremental decoder, on vectors, streams, limits and malformed input. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LpfError } from '../../src/errors.js';
import {
  DATA_TYPE,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  MAX_CONTROL_PAYLOAD,
  MAX_DATA_PAYLOAD,
  SPECS,
  encodeDataHeader,
  encodeMessage,
  type Message,
  type MessageType,
} from '../../src/protocol/index.js';
import {
  SAMPLES,
  decodeChunks,
  normalize,
  rawFrame,
  recordingDecoder,
  sampleMessages,
  seededRandom,
  splitAt,
  type Event,
} from '../helpers/messages.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
const msg = (message: Message): Event => ({ kind: 'message', message });
const data = (bytes: Buffer): Event => ({ kind: 'data', bytes });

function isProtocolError(err: unknown): boolean {
  return err instanceof LpfError && err.code === 'LPF_ERR_PROTOCOL';
}

/** Asserts that pushing `input` into a fresh decoder fails with LPF_ERR_PROTOCOL and delivers nothing. */
function assertRefused(input: Buffer): void {
  const { decoder, events } = recordingDecoder();
  assert.throws(() => decoder.push(input), isProtocolError);
  assert.deepEqual(events, []);
}

/** A 5-byte frame header announcing `length` (type byte + payload) of type `typeCode`. */
function header(length: number, typeCode: number): Buffer {
  const buf = Buffer.alloc(FRAME_HEADER_SIZE);
  buf.writeUInt32BE(length, 0);
  buf[4] = typeCode;
  return buf;
}

describe('type bytes', () => {
  test('every message has the documented type byte', () => {
    const codes = Object.fromEntries(Object.entries(SPECS).map(([type, spec]) => [type, spec.code]));
    assert.deepEqual(codes, {
      hello: 0x01,
      welcome: 0x02,
      ping: 0x03,
      pong: 0x04,
      error: 0x05,
      ok: 0x06,
      register: 0x10,
      login: 0x11,
      authed: 0x12,
      session: 0x13,
      logout: 0x14,
      list: 0x20,
      list_page: 0x21,
      delete: 0x22,
      mkdir: 0x23,
      rename: 0x24,
      stat: 0x25,
      entry: 0x26,
      copy: 0x27,
      upload: 0x30,
      ready: 0x31,
      end: 0x32,
      stored: 0x33,
      download: 0x34,
      file: 0x35,
    });
  });

  test('DATA is 0x40 and no control message shares it', () => {
    assert.equal(DATA_TYPE, 0x40);
    assert.ok(Object.values(SPECS).every((spec) => spec.code !== DATA_TYPE));
  });
});

describe('control messages round-trip', () => {
  for (const type of Object.keys(SPECS) as MessageType[]) {
    test(type, () => {
      const sample = SAMPLES[type];
      const frame = encodeMessage(sample);
      assert.equal(frame.readUInt32BE(0), frame.length - 4, 'the length counts the type byte and the payload');
      assert.equal(frame[4], SPECS[type].code);
      assert.deepEqual(decodeChunks([frame]), [msg(sample)]);
    });
  }

  test('all samples in one buffer decode in order', () => {
    const samples = sampleMessages();
    assert.deepEqual(decodeChunks([Buffer.concat(samples.map(encodeMessage))]), samples.map(msg));
  });

  test('undeclared fields are dropped, a "type" key in the JSON included', () => {
    const frame = rawFrame(SPECS.ping.code, '{"type":"pong","nonce":7,"extra":[1,2]}');
    assert.deepEqual(decodeChunks([frame]), [msg({ type: 'ping', nonce: 7 })]);
  });

  test('field order and JSON whitespace are not significant', () => {
    const frame = rawFrame(SPECS.hello.code, ' {\n "agent" : "x",\t"version":1 } ');
    assert.deepEqual(decodeChunks([frame]), [msg({ type: 'hello', version: 1, agent: 'x' })]);
  });

  test('a control payload of exactly MAX_CONTROL_PAYLOAD bytes is accepted', () => {
    const base = '{"nonce":5,"pad":""}';
    const payload = base.replace('""', `"${'x'.repeat(MAX_CONTROL_PAYLOAD - base.length)}"`);
    assert.equal(Buffer.byteLength(payload), MAX_CONTROL_PAYLOAD);
    assert.deepEqual(decodeChunks([rawFrame(SPECS.ping.code, payload)]), [msg({ type: 'ping', nonce: 5 })]);
  });

  test('the encoder refuses a message over MAX_CONTROL_PAYLOAD', () => {
    const password = 'x'.repeat(MAX_CONTROL_PAYLOAD);
    assert.throws(() => encodeMessage({ type: 'login', user: 'alice', password }), RangeError);
  });
});

describe('DATA frames', () => {
  test('a 0-length DATA frame delivers nothing and the next frame still decodes', () => {
    const { decoder, events } = recordingDecoder();
    decoder.push(Buffer.concat([encodeDataHeader(0), encodeMessage(SAMPLES.ok)]));
    assert.deepEqual(events, [msg(SAMPLES.ok)]);
    assert.equal(decoder.bufferedBytes, 0);
  });

  for (const size of [1, 1000, 3 * 1024 * 1024 + 7, MAX_DATA_PAYLOAD]) {
    test(`a ${size}-byte payload arrives in order and whole`, () => {
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = (i * 31 + (i >>> 8)) & 0xff;
      const stream = Buffer.concat([encodeDataHeader(size), payload, encodeMessage(SAMPLES.end)]);
      // As the connection writes it: header and payload as separate buffers.
      const asWritten = decodeChunks([encodeDataHeader(size), payload, encodeMessage(SAMPLES.end)]);
      assert.deepEqual(asWritten, [data(payload), msg(SAMPLES.end)]);
      const random = seededRandom(size);
      const cuts = Array.from({ length: 40 }, () => Math.floor(random() * stream.length));
      assert.deepEqual(decodeChunks(splitAt(stream, cuts)), [data(payload), msg(SAMPLES.end)]);
    });
  }

  test('payload bytes are handed over as they arrive, before the frame is complete', () => {
    const { decoder, events } = recordingDecoder();
    const payload = Buffer.from('0123456789');
    decoder.push(encodeDataHeader(payload.length));
    decoder.push(payload.subarray(0, 4));
    assert.deepEqual(events, [data(payload.subarray(0, 4))]);
    decoder.push(payload.subarray(4));
    assert.deepEqual(normalize(events), [data(payload)]);
  });

  test('a payload that arrives in one chunk is handed over without a copy', () => {
    const { decoder, events } = recordingDecoder();
    const payload = Buffer.alloc(64 * 1024, 7);
    decoder.push(encodeDataHeader(payload.length));
    decoder.push(payload);
    assert.equal(events.length, 1);
    const [event] = events;
    assert.ok(event?.kind === 'data' && event.bytes.buffer === payload.buffer);
  });

  test('the encoder refuses DATA sizes out of range', () => {
    for (const bad of [-1, 1.5, Number.NaN, MAX_DATA_PAYLOAD + 1]) {
      assert.throws(() => encodeDataHeader(bad), RangeError, String(bad));
    }
  });
});

describe('streams of many frames', () => {
  /** A seeded mix of control and DATA frames, and the events a decoder must produce from them. */
  function mixedStream(count: number, seed: number): { bytes: Buffer; expected: Event[] } {
    const random = seededRandom(seed);
    const samples = sampleMessages();
    const frames: Buffer[] = [];
    const events: Event[] = [];
    for (let i = 0; i < count; i++) {
      if (random() < 0.5) {
        const message = samples[Math.floor(random() * samples.length)] as Message;
        frames.push(encodeMessage(message));
        events.push(msg(message));
      } else {
        const size = random() < 0.1 ? 0 : random() < 0.05 ? 70_000 : Math.floor(random() * 2000);
        const payload = Buffer.alloc(size, i & 0xff);
        frames.push(encodeDataHeader(size), payload);
        events.push(data(payload));
      }
    }
    return { bytes: Buffer.concat(frames), expected: normalize(events) };
  }

  const { bytes, expected } = mixedStream(600, 42);

  test('decodes when fed all at once', () => {
    assert.ok(expected.filter((e) => e.kind === 'message').length > 200);
    assert.deepEqual(decodeChunks([bytes]), expected);
  });

  test('decodes when fed one byte at a time', () => {
    const bytewise = Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1));
    assert.deepEqual(decodeChunks(bytewise), expected);
  });

  for (const seed of [1, 2, 3, 1234]) {
    test(`decodes when split at seeded random points (seed ${seed})`, () => {
      const random = seededRandom(seed);
      const cuts = Array.from({ length: 500 }, () => Math.floor(random() * bytes.length));
      assert.deepEqual(decodeChunks(splitAt(bytes, cuts)), expected);
    });
  }

  test('empty pushes are harmless', () => {
    const chunks = splitAt(bytes, [10, 500, 5000]).flatMap((chunk) => [Buffer.alloc(0), chunk, Buffer.alloc(0)]);
    assert.deepEqual(decodeChunks(chunks), expected);
  });
});

describe('hex vectors', () => {
  const vectors: Array<[string, Message, string]> = [
    ['ping', { type: 'ping', nonce: 1 }, '0000000c 03 7b226e6f6e6365223a317d'],
    ['pong', { type: 'pong', nonce: 1 }, '0000000c 04 7b226e6f6e6365223a317d'],
    ['ok', { type: 'ok' }, '00000003 06 7b7d'],
    ['copy', { type: 'copy', from: 'a', to: 'b' }, '00000016 27 7b2266726f6d223a2261222c22746f223a2262227d'],
    [
      'hello',
      { type: 'hello', version: 1, agent: 'lpf/0.1.0' },
      '00000022 01 7b2276657273696f6e223a312c226167656e74223a226c70662f302e312e30227d',
    ],
    [
      'welcome',
      { type: 'welcome', version: 1, agent: 'lpf-server/0.1.0', maxData: 4194304 },
      '0000003b 02 7b2276657273696f6e223a312c226167656e74223a226c70662d7365727665722f302e312e30222c226d617844617461223a343139343330347d',
    ],
  ];
  for (const [name, message, wire] of vectors) {
    test(`${name} encodes to and decodes from its pinned bytes`, () => {
      assert.deepEqual(encodeMessage(message), hex(wire));
      assert.deepEqual(decodeChunks([hex(wire)]), [msg(message)]);
    });
  }

  test('a DATA frame carrying "abc"', () => {
    assert.deepEqual(Buffer.concat([encodeDataHeader(3), Buffer.from('abc')]), hex('00000004 40 616263'));
    assert.deepEqual(decodeChunks([hex('00000004 40 616263')]), [data(Buffer.from('abc'))]);
  });

  test('an empty DATA frame', () => {
    assert.deepEqual(encodeDataHeader(0), hex('00000001 40'));
    assert.deepEqual(decodeChunks([hex('00000001 40')]), []);
  });
});

describe('rejections', () => {
  test('unknown type bytes', () => {
    for (const code of [0x00, 0x07, 0x0f, 0x15, 0x1f, 0x28, 0x2f, 0x36, 0x3f, 0x41, 0x80, 0xff]) {
      assertRefused(rawFrame(code, '{}'));
    }
  });

  test('an unknown type is refused as soon as its header arrives', () => {
    assertRefused(header(100, 0x7f));
  });

  test('frame length 0', () => {
    assertRefused(header(0, SPECS.ping.code));
    assertRefused(header(0, DATA_TYPE));
  });

  test('a control frame over MAX_CONTROL_PAYLOAD is refused on its header, without waiting for the payload', () => {
    const { decoder, events } = recordingDecoder();
    const head = header(MAX_CONTROL_PAYLOAD + 2, SPECS.ping.code);
    for (let i = 0; i < FRAME_HEADER_SIZE - 1; i++) decoder.push(head.subarray(i, i + 1));
    assert.throws(() => decoder.push(head.subarray(FRAME_HEADER_SIZE - 1)), isProtocolError);
    assert.deepEqual(events, []);
    for (const type of Object.keys(SPECS) as MessageType[]) assertRefused(header(MAX_CONTROL_PAYLOAD + 2, SPECS[type].code));
  });

  test('a DATA frame over MAX_DATA_PAYLOAD is refused on its header', () => {
    assertRefused(header(MAX_DATA_PAYLOAD + 2, DATA_TYPE));
    const { decoder } = recordingDecoder();
    decoder.push(header(MAX_DATA_PAYLOAD + 1, DATA_TYPE)); // exactly the limit: accepted
  });

  test('a frame announcing 4 GiB (0xFFFFFFFF)', () => {
    assertRefused(hex('ffffffff 40'));
    assertRefused(hex('ffffffff 03'));
  });

  test('a control payload that is not JSON', () => {
    for (const text of ['', '{', '{nonce:1}', "{'nonce':1}", '{"nonce":1,}', '{"nonce":1}}', 'NaN']) {
      assertRefused(rawFrame(SPECS.ping.code, text));
    }
  });

  test('a control payload that is not UTF-8', () => {
    assertRefused(rawFrame(SPECS.delete.code, Buffer.from([...Buffer.from('{"name":"'), 0xff, 0xfe, ...Buffer.from('"}')])));
    assertRefused(rawFrame(SPECS.delete.code, Buffer.from([...Buffer.from('{"name":"'), 0xc3, ...Buffer.from('"}')])));
    assertRefused(rawFrame(SPECS.ping.code, Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('{"nonce":1}')])));
  });

  test('JSON that is not an object', () => {
    for (const text of ['[]', '[{"nonce":1}]', '1', 'null', 'true', '"ping"']) {
      assertRefused(rawFrame(SPECS.ping.code, text));
      assertRefused(rawFrame(SPECS.ok.code, text));
    }
  });

  test('a missing field', () => {
    assertRefused(rawFrame(SPECS.ping.code, '{}'));
    assertRefused(rawFrame(SPECS.welcome.code, '{"version":1,"agent":"x"}'));
    assertRefused(rawFrame(SPECS.file.code, '{"name":"a","size":1}'));
    assertRefused(rawFrame(SPECS.list_page.code, '{"entries":[]}'));
    assertRefused(rawFrame(SPECS.list_page.code, '{"entries":[{"name":"a","size":1}],"done":true}'));
  });

  test('a field of the wrong type', () => {
    const bad = (type: MessageType, body: object) => assertRefused(rawFrame(SPECS[type].code, JSON.stringify(body)));
    for (const nonce of ['1', -1, 1.5, 2 ** 53, 1e300, null, true, [1], {}]) bad('ping', { nonce });
    bad('hello', { version: '1', agent: 'x' });
    bad('login', { user: 42, password: 'x' });
    bad('login', { user: 'alice', password: null });
    bad('list_page', { entries: [], done: 'true' });
    bad('list_page', { entries: {}, done: true });
    bad('list_page', { entries: [null], done: true });
    bad('list_page', { entries: [{ name: 'a', size: -1, mtime: 0 }], done: true });
    bad('list_page', { entries: [{ name: 1, size: 1, mtime: 0 }], done: true });
    bad('list_page', { entries: [{ name: 'a', size: 1, mtime: 0, received: -1 }], done: true });
    bad('list', { partial: 'yes' });
    bad('upload', { name: 'a', size: '3' });
  });

  test('a bad sha256', () => {
    const good = SAMPLES.end.sha256;
    for (const sha256 of [good.toUpperCase(), good.slice(1), `${good}0`, `${good.slice(1)}g`, `0x${good.slice(2)}`, '', 42]) {
      assertRefused(rawFrame(SPECS.end.code, JSON.stringify({ sha256 })));
      assertRefused(rawFrame(SPECS.stored.code, JSON.stringify({ name: 'a', size: 1, sha256 })));
    }
  });

  test('after a failure the decoder refuses all further input', () => {
    const { decoder, events } = recordingDecoder();
    const good = encodeMessage(SAMPLES.ping);
    // The bad frame is followed by a good one in the same chunk: the good one is not delivered.
    assert.throws(() => decoder.push(Buffer.concat([rawFrame(0xff, '{}'), good])), isProtocolError);
    assert.equal(decoder.bufferedBytes, 0);
    assert.throws(() => decoder.push(good), isProtocolError);
    assert.throws(() => decoder.push(Buffer.alloc(0)), isProtocolError);
    decoder.resume();
    assert.deepEqual(events, []);
  });

  test('an exception from a handler propagates unchanged and the decoder then refuses input', () => {
    const boom = new Error('handler failed');
    const decoder = new FrameDecoder({
      message: () => {
        throw boom;
      },
      data: () => {},
    });
    assert.throws(
      () => decoder.push(encodeMessage(SAMPLES.ping)),
      (err) => err === boom,
    );
    assert.throws(() => decoder.push(encodeMessage(SAMPLES.ping)), isProtocolError);
  });
});

describe('pause and resume', () => {
  const frames = [encodeMessage(SAMPLES.ping), encodeDataHeader(3), Buffer.from('abc'), encodeMessage(SAMPLES.ok)];
  const stream = Buffer.concat(frames);
  const expected = [msg(SAMPLES.ping), data(Buffer.from('abc')), msg(SAMPLES.ok)];

  test('while paused nothing is delivered; on resume the input is delivered in order', () => {
    const { decoder, events } = recordingDecoder();
    decoder.pause();
    for (const chunk of splitAt(stream, [3, 9, 20, 22])) decoder.push(chunk);
    assert.deepEqual(events, []);
    assert.equal(decoder.bufferedBytes, stream.length);
    decoder.resume();
    assert.deepEqual(normalize(events), expected);
    assert.equal(decoder.bufferedBytes, 0);
  });

  test('pausing from a message handler stops delivery right after that message', () => {
    const events: Event[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      message: (message) => {
        events.push(msg(message));
        decoder.pause();
      },
      data: (bytes) => events.push(data(bytes)),
    });
    decoder.push(stream);
    assert.deepEqual(events, [msg(SAMPLES.ping)]);
    decoder.resume();
    assert.deepEqual(normalize(events), expected);
    decoder.resume();
    assert.deepEqual(normalize(events), expected);
  });

  test('pausing from a data handler stops delivery in the middle of a DATA frame', () => {
    const events: Event[] = [];
    const decoder: FrameDecoder = new FrameDecoder({
      message: (message) => events.push(msg(message)),
      data: (bytes) => {
        events.push(data(bytes));
        decoder.pause();
      },
    });
    const payloadStart = frames[0]!.length + FRAME_HEADER_SIZE;
    for (const chunk of splitAt(stream, [payloadStart + 1, payloadStart + 2])) decoder.push(chunk);
    assert.deepEqual(normalize(events), [msg(SAMPLES.ping), data(Buffer.from('a'))]);
    decoder.resume();
    assert.deepEqual(normalize(events), [msg(SAMPLES.ping), data(Buffer.from('ab'))]);
    decoder.resume();
    decoder.resume();
    assert.deepEqual(normalize(events), expected);
  });

  test('pauses do not nest: one resume() resumes', () => {
    const { decoder, events } = recordingDecoder();
    decoder.pause();
    decoder.pause();
    decoder.push(stream);
    decoder.resume();
    assert.deepEqual(normalize(events), expected);
  });

  test('resume() without pause() is a no-op', () => {
    const { decoder, events } = recordingDecoder();
    decoder.resume();
    decoder.push(stream);
    assert.deepEqual(normalize(events), expected);
  });

  test('malformed input received while paused is reported by resume()', () => {
    const { decoder, events } = recordingDecoder();
    decoder.pause();
    decoder.push(Buffer.concat([encodeMessage(SAMPLES.ping), header(0, SPECS.ping.code)]));
    assert.throws(() => decoder.resume(), isProtocolError);
    assert.deepEqual(events, [msg(SAMPLES.ping)]);
  });
});
