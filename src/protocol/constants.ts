/** Wire constants. Every limit the decoder enforces is named here. */

/** The protocol version carried in the handshake. Bumped on any incompatible change. */
export const PROTOCOL_VERSION = 1;

/** 4-byte big-endian length + 1-byte type. */
export const FRAME_HEADER_SIZE = 5;

/** Largest payload of a control (JSON) frame. Checked before any allocation. */
export const MAX_CONTROL_PAYLOAD = 64 * 1024;

/** Largest payload of one DATA frame. */
export const MAX_DATA_PAYLOAD = 4 * 1024 * 1024;

/** The chunk size senders use for file data: large enough to amortise per-frame costs. */
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

/** Block size of the content checksum; resumed transfers restart on a block boundary. */
export const BLOCK_SIZE = 4 * 1024 * 1024;

/** Longest remote file name, in UTF-8 bytes (the common file-system limit). */
export const MAX_NAME_BYTES = 255;

/** Longest remote path (folders and name joined by "/"), in UTF-8 bytes (Linux's PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/** Deepest remote path, in components: deep enough for real trees, shallow enough to bound the work of one path. */
export const MAX_PATH_DEPTH = 64;

/** How many list entries one LIST_PAGE frame carries at most. */
export const LIST_PAGE_SIZE = 128;

/** Encoded size one LIST_PAGE frame's entries may reach, leaving room under MAX_CONTROL_PAYLOAD. */
export const LIST_PAGE_BYTES = 48 * 1024;
