/** The lpf wire protocol: pure codec, no sockets, no files. */
export * from './constants.js';
export * from './messages.js';
export * from './encoder.js';
export * from './decoder.js';
export * from './names.js';
export * from './content-hash.js';
