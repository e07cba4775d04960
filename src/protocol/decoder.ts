/**
 * Inbound codec: an incremental state machine that turns bytes into messages
 * and file-data chunks. It never assumes one push() is one frame, checks every
 * limit before allocating, and streams DATA payloads through as sub-slices of
 * the input so file bytes are never copied or held whole.
 */
import { LpfError } from '../errors.js';
import { FRAME_HEADER_SIZE, MAX_CONTROL_PAYLOAD, MAX_DATA_PAYLOAD } from './constants.js';
import { DATA_TYPE, messageTypeOf, validateMessage, type Message, type MessageType } from './messages.js';

export interface DecoderHandlers {
  /** A complete control message. */
  message(message: Message): void;
  /** A piece of a DATA frame's payload, in order; frame boundaries are not significant. */
  data(chunk: Buffer): void;
}

export interface DecoderLimits {
  maxControlPayload: number;
  maxDataPayload: number;
}

const DEFAULT_LIMITS: DecoderLimits = {
  maxControlPayload: MAX_CONTROL_PAYLOAD,
  maxDataPayload: MAX_DATA_PAYLOAD,
};

type State = 'header' | 'control' | 'data' | 'failed';

export class FrameDecoder {
  readonly #handlers: DecoderHandlers;
  readonly #limits: DecoderLimits;
  #buffers: Buffer[] = [];
  #buffered = 0;
  #state: State = 'header';
  #controlType: MessageType = 'ok';
  #remaining = 0;
  #paused = false;

  constructor(handlers: DecoderHandlers, limits: Partial<DecoderLimits> = {}) {
    this.#handlers = handlers;
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** Bytes received but not yet handed over (held while paused or awaiting a whole frame). */
  get bufferedBytes(): number {
    return this.#buffered;
  }

  /** Feeds received bytes. Throws LpfError('LPF_ERR_PROTOCOL') on malformed input, after which the decoder refuses more. */
  push(chunk: Buffer): void {
    if (this.#state === 'failed') throw new LpfError('LPF_ERR_PROTOCOL', 'decoder already failed');
    if (chunk.length > 0) {
      this.#buffers.push(chunk);
      this.#buffered += chunk.length;
    }
    this.#loop();
  }

  /** Stops handing over messages and data until resume(); input is buffered meanwhile. */
  pause(): void {
    this.#paused = true;
  }

  /** Hands over what was buffered while paused, then carries on. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    if (this.#state !== 'failed') this.#loop();
  }

  #loop(): void {
    try {
      while (!this.#paused) {
        const progressed =
          this.#state === 'header' ? this.#readHeader() : this.#state === 'control' ? this.#readControl() : this.#readData();
        if (!progressed) return;
      }
    } catch (err) {
      this.#state = 'failed';
      this.#buffers = [];
      this.#buffered = 0;
      throw err;
    }
  }

  #readHeader(): boolean {
    if (this.#buffered < FRAME_HEADER_SIZE) return false;
    const header = this.#consume(FRAME_HEADER_SIZE);
    const length = header.readUInt32BE(0);
    const typeCode = header[4] as number;
    if (length < 1) throw fail('frame length 0 is below the minimum of 1');
    const payloadLength = length - 1;
    if (typeCode === DATA_TYPE) {
      if (payloadLength > this.#limits.maxDataPayload) {
        throw fail(`DATA frame of ${payloadLength} bytes is over the limit of ${this.#limits.maxDataPayload}`);
      }
      this.#state = 'data';
      this.#remaining = payloadLength;
      return true;
    }
    const type = messageTypeOf(typeCode);
    if (type === undefined) throw fail(`unknown frame type 0x${typeCode.toString(16).padStart(2, '0')}`);
    if (payloadLength > this.#limits.maxControlPayload) {
      throw fail(`${type} frame of ${payloadLength} bytes is over the limit of ${this.#limits.maxControlPayload}`);
    }
    this.#state = 'control';
    this.#controlType = type;
    this.#remaining = payloadLength;
    return true;
  }

  #readControl(): boolean {
    if (this.#buffered < this.#remaining) return false;
    const payload = this.#consume(this.#remaining);
    this.#state = 'header';
    this.#handlers.message(validateMessage(this.#controlType, parseJson(this.#controlType, payload)));
    return true;
  }

  #readData(): boolean {
    if (this.#remaining === 0) {
      this.#state = 'header';
      return true;
    }
    if (this.#buffered === 0) return false;
    const first = this.#buffers[0] as Buffer;
    const take = Math.min(first.length, this.#remaining);
    const piece = take === first.length ? first : first.subarray(0, take);
    if (take === first.length) this.#buffers.shift();
    else this.#buffers[0] = first.subarray(take);
    this.#buffered -= take;
    this.#remaining -= take;
    this.#handlers.data(piece);
    return true;
  }

  /** Removes and returns exactly n buffered bytes (n <= buffered), copying only when they span chunks. */
  #consume(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.#buffered -= n;
    const first = this.#buffers[0] as Buffer;
    if (n === first.length) {
      this.#buffers.shift();
      return first;
    }
    if (n < first.length) {
      this.#buffers[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const buf = this.#buffers[0] as Buffer;
      const take = Math.min(buf.length, n - offset);
      buf.copy(out, offset, 0, take);
      offset += take;
      if (take === buf.length) this.#buffers.shift();
      else this.#buffers[0] = buf.subarray(take);
    }
    return out;
  }
}

function fail(message: string): LpfError {
  return new LpfError('LPF_ERR_PROTOCOL', message);
}

// fatal: malformed UTF-8 is refused rather than turned into U+FFFD; ignoreBOM: a BOM is kept, so JSON.parse refuses it.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parseJson(type: MessageType, payload: Buffer): unknown {
  try {
    return JSON.parse(UTF8.decode(payload));
  } catch {
    throw fail(`${type}: payload is not valid UTF-8 JSON`);
  }
}
