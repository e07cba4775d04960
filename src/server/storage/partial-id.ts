/** One rule for both storages: which kept partial upload a new upload resumes. */
import { createHash } from 'node:crypto';

/** A keyed upload's id: the same path, size and sender key find the same partial. */
export function partialId(path: string, size: number, key: string): string {
  return createHash('sha256').update(`${path}\0${size}\0${key}`).digest('hex').slice(0, 40);
}
