// Selects the records at [offset, offset+limit) of a candidate list in sort order without sorting all of it.

type Cmp<T> = (a: T, b: T) => number;

/** Bounded max-heap selection: O(n log k) for k = offset + limit. */
export function selectPage<T>(candidates: T[], cmp: Cmp<T>, offset: number, limit: number): T[] {
  const k = offset + limit;
  if (candidates.length <= k || candidates.length <= 64) {
    return candidates.sort(cmp).slice(offset, k);
  }
  const heap: T[] = [];
  for (const c of candidates) {
    if (heap.length < k) {
      heap.push(c);
      siftUp(heap, heap.length - 1, cmp);
    } else if (cmp(c, heap[0]) < 0) {
      heap[0] = c;
      siftDown(heap, 0, cmp);
    }
  }
  return heap.sort(cmp).slice(offset, k);
}

// Max-heap on cmp: the root is the greatest (last in sort order) of the kept k.
function siftUp<T>(h: T[], i: number, cmp: Cmp<T>): void {
  while (i > 0) {
    const p = (i - 1) >> 1;
    if (cmp(h[i], h[p]) <= 0) return;
    [h[i], h[p]] = [h[p], h[i]];
    i = p;
  }
}

function siftDown<T>(h: T[], i: number, cmp: Cmp<T>): void {
  for (;;) {
    const l = 2 * i + 1;
    const r = l + 1;
    let m = i;
    if (l < h.length && cmp(h[l], h[m]) > 0) m = l;
    if (r < h.length && cmp(h[r], h[m]) > 0) m = r;
    if (m === i) return;
    [h[i], h[m]] = [h[m], h[i]];
    i = m;
  }
}
