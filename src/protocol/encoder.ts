/** Outbound codec: turns messages into frames. Pure: returns buffers, writes nothing. */
import { FRAME_HEADER_SIZE, MAX_CONTROL_PAYLOAD, MAX_DATA_PAYLOAD } from './constants.js';
import { DATA_TYPE, SPECS, type Message } from './messages.js';

function frameHeader(typeCode: number, payloadLength: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
  header.writeUInt32BE(payloadLength + 1, 0);
  header[4] = typeCode;
  return header;
}

/** Encodes a control message as one frame. Throws if the message is over the control limit. */
export function encodeMessage(message: Message): Buffer {
  const { type, ...fields } = message;
  const payload = Buffer.from(JSON.stringify(fields), 'utf8');
  if (payload.length > MAX_CONTROL_PAYLOAD) {
    throw new RangeError(`${type} message of ${payload.length} bytes is over the control frame limit`);
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + payload.length);
  frameHeader(SPECS[type].code, payload.length).copy(frame, 0);
  payload.copy(frame, FRAME_HEADER_SIZE);
  return frame;
}

/**
 * The header of a DATA frame carrying `payloadLength` bytes. The caller writes
 * it and then the payload itself, so file data is never copied to add a header.
 */
export function encodeDataHeader(payloadLength: number): Buffer {
  if (!Number.isInteger(payloadLength) || payloadLength < 0 || payloadLength > MAX_DATA_PAYLOAD) {
    throw new RangeError(`DATA payload of ${payloadLength} bytes is out of range`);
  }
  return frameHeader(DATA_TYPE, payloadLength);
}
