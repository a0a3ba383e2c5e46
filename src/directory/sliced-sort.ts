// A merge sort that runs in steps (src/directory/slices.ts): chunks sorted by Array.prototype.sort, then bottom-up
// merges, each step stopping once its time is up, so sorting 1,000,000 records never holds the event loop.

/** Sorted chunk size: one chunk is a unit of work (about a millisecond for 8,192 records). */
const CHUNK = 8192;
/** Elements merged between two looks at the clock. */
const MERGE_UNIT = 4096;

export class SlicedSort<T> {
  private src: T[];
  private dst: T[];
  private chunked = 0;
  private width = CHUNK;
  // Position in the current merge pass: the run pair starting at lo, and the cursors into it.
  private lo = 0;
  private i = 0;
  private j = 0;
  private k = 0;
  private inPair = false;

  /** Sorts `items` (which it reorders and reuses); `result` once step() returned true. */
  constructor(
    items: T[],
    private readonly cmp: (a: T, b: T) => number,
  ) {
    this.src = items;
    this.dst = new Array<T>(items.length);
  }

  get result(): T[] {
    return this.src;
  }

  /** Does at least one unit of work; true when sorted. */
  step(untilMs: number): boolean {
    const n = this.src.length;
    while (this.chunked < n) {
      const end = Math.min(n, this.chunked + CHUNK);
      const part = this.src.slice(this.chunked, end).sort(this.cmp);
      for (let x = 0; x < part.length; x++) this.src[this.chunked + x] = part[x];
      this.chunked = end;
      if (performance.now() >= untilMs) return false;
    }
    while (this.width < n) {
      while (this.lo < n) {
        const mid = Math.min(n, this.lo + this.width);
        const hi = Math.min(n, this.lo + 2 * this.width);
        if (!this.inPair) {
          this.i = this.lo;
          this.j = mid;
          this.k = this.lo;
          this.inPair = true;
        }
        const { src, dst, cmp } = this;
        let { i, j, k } = this;
        const stop = Math.min(hi, k + MERGE_UNIT);
        while (k < stop) {
          if (i < mid && (j >= hi || cmp(src[i], src[j]) <= 0)) dst[k++] = src[i++];
          else dst[k++] = src[j++];
        }
        this.i = i;
        this.j = j;
        this.k = k;
        if (k >= hi) {
          this.inPair = false;
          this.lo = hi;
        }
        if (performance.now() >= untilMs) return false;
      }
      [this.src, this.dst] = [this.dst, this.src];
      this.width *= 2;
      this.lo = 0;
    }
    return true;
  }
}
