/**
 * Keeps the server's garbage small. Two settings of V8's young generation, both measured in
 * bench/profiles/2026-11-24-server-memory.md:
 *
 * - Every socket read hands JavaScript a newly allocated buffer (up to 64 KiB over TCP, 16 KiB over
 *   TLS). Once handled they are garbage, but V8 frees them at a young-generation GC only, which a
 *   receiver that allocates little else triggers only once 32 MiB of them have piled up (twice
 *   V8's default largest semi-space: a constant, no flag changes it); and glibc keeps most of what
 *   is then freed. An upload thus held about 32 MiB of dead buffers in the server's RSS. A minor GC
 *   once 4 MiB have been received without one keeps that to a few MiB, at 0.2 ms a time with one
 *   client, 1 ms with hundreds (more live objects to copy): every 2 MiB cost 10% more CPU with 200
 *   TLS clients for little less memory. With a few connections a GC is cheap and 2 MiB is the
 *   better trade: a 1 GiB upload's server peak went from 63-65 to 61 MiB, as fast.
 * - The young generation grows from 2 to 32 MiB under load and stays there; a server whose
 *   objects mostly die young (per-chunk work) gains little from it. It keeps its starting size.
 */
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const EVERY_FEW = 2 * 1024 * 1024;
const EVERY_MANY = 4 * 1024 * 1024;
/** Up to this many open connections, collect every EVERY_FEW bytes. */
const FEW = 4;

let every = EVERY_FEW;

let collect: (() => void) | undefined;
let sinceCheck = 0;
let youngBefore = 0;

/**
 * Turns both on for this process. The server does; the client library leaves its host's garbage
 * collection alone.
 */
export function keepGarbageSmall(): void {
  if (collect) return;
  // Read by V8 each time it would grow the young generation, so it applies from now on.
  setFlagsFromString('--semi-space-growth-factor=1');
  // --expose-gc set at run time does not add `gc` to the running context, only to new ones.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (options: { type: 'minor' | 'major' }) => void;
  collect = () => gc({ type: 'minor' });
}

/** Tells how many connections are open, which sets how often to collect. */
export function noteConnections(open: number): void {
  every = open <= FEW ? EVERY_FEW : EVERY_MANY;
}

/** Counts bytes just received and handled; every 2 or 4 MiB, collects unless V8 just did. */
export function noteReceived(bytes: number): void {
  if (!collect) return;
  sinceCheck += bytes;
  if (sinceCheck < every) return;
  sinceCheck = 0;
  // The young generation only shrinks in a collection: if it holds less than at the last check,
  // one ran since, and what was received before it is freed already.
  const young = youngUsed();
  if (young < youngBefore) {
    youngBefore = young;
    return;
  }
  collect();
  youngBefore = youngUsed();
}

function youngUsed(): number {
  return getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_used_size ?? 0;
}
