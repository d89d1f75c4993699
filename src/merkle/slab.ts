// Small byte arrays (hashes, encoded nodes) are carved from shared slabs. A typed array over
// 64 bytes, or one made by native code, gets its own ArrayBuffer: ~15x the allocation cost,
// and millions of them make V8's GC crawl during bulk state updates. The price: a retained
// array keeps its 64 KiB slab alive, which suits write-then-drop batches.
const SLAB_SIZE = 64 * 1024;
let slab = new ArrayBuffer(SLAB_SIZE);
let offset = 0;

export function allocBytes(n: number): Uint8Array {
  if (n > 1024) return new Uint8Array(n);
  if (offset + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    offset = 0;
  }
  const out = new Uint8Array(slab, offset, n);
  offset += n;
  return out;
}
