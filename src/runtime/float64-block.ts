/**
 * Zero-filled Float64Arrays handed out as views of one buffer. An object's state arrays are
 * taken from one block: each separate typed array costs an ArrayBuffer of its own (about 90
 * bytes of heap, and the allocator's share), an engine holds dozens of them, and a supervisor
 * holds thousands of engines.
 */
export class Float64Block {
  private readonly block: Float64Array;
  private taken = 0;

  /** A block of `length` doubles in all. */
  constructor(length: number) {
    this.block = new Float64Array(length);
  }

  /** The next `length` doubles of the block; throws a RangeError past its end (a miscount). */
  take(length: number): Float64Array {
    const end = this.taken + length;
    if (end > this.block.length)
      throw new RangeError(`Float64Block: ${length} more doubles past its ${this.block.length}`);
    const view = this.block.subarray(this.taken, end);
    this.taken = end;
    return view;
  }
}
