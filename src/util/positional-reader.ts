/** Something that reads at a position, like a FileHandle: what storage hands out and transport sends from. */
export interface PositionalReader {
  read(buffer: Buffer, position: number, length: number): Promise<number>;
}
