/** What uploads and downloads report: progress while they run, a result when they are done. */

/** Called as a transfer moves bytes: how many are done of how many in all. */
export type ProgressListener = (bytesDone: number, bytesTotal: number) => void;

/** What a finished upload or download reports. */
export interface TransferResult {
  name: string;
  size: number;
  /** lpf's content checksum (see ContentHasher), lowercase hex. */
  sha256: string;
  /** Wall-clock duration of the transfer, in milliseconds. */
  ms: number;
  /** Bytes an earlier, cut-off attempt had already moved (not sent again). */
  resumedFrom: number;
}
