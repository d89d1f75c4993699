import { merkleRoot, nodeHash } from '../merkle/index.js';

/*
 * The event log's RFC 9162 tree, stored the way C2SP tlog-tiles serves it: tiles of height 8,
 * so a tile at level L holds up to 256 hashes of complete subtrees of height 8·L. Only those
 * levels are stored (n·32·(1 + 1/256 + ...) bytes); any complete subtree's hash is recomputed
 * from at most 128 stored hashes of one tile. A proof is O(log n) of those, so proof time stays
 * flat as the log grows, and the HTTP tiles are the stored bytes themselves.
 */

export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

/** The stored hashes of tile (level, index), concatenated; a partial tile is shorter. */
export type TileReader = (level: number, index: number) => Uint8Array | undefined;

export interface TileCoord {
  readonly level: number;
  readonly index: number;
}

const isPow2 = (n: number): boolean => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

function largestPow2Below(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

export const tileId = (level: number, index: number): string => `${level}/${index}`;

/** A TileReader over tiles fetched beforehand (see tilesForRanges), keyed by tileId. */
export function mapTileReader(tiles: ReadonlyMap<string, Uint8Array>): TileReader {
  return (level, index) => tiles.get(tileId(level, index));
}

/*
 * Which tiles a computation reads depends only on sizes and indexes, never on hash values. So a
 * store that reads asynchronously (PostgreSQL) fetches them all in one query first, and the tree
 * code stays synchronous and pure.
 */

/** The aligned complete subtrees [start, end) decomposes into, as (height, index). */
function alignedSubtrees(start: number, end: number, out: Array<[number, number]>): void {
  const n = end - start;
  if (n <= 0) return;
  if (isPow2(n) && start % n === 0) {
    out.push([Math.round(Math.log2(n)), start / n]);
    return;
  }
  const k = largestPow2Below(n);
  alignedSubtrees(start, start + k, out);
  alignedSubtrees(start + k, end, out);
}

/** The tiles that hashing the ranges [start, end) reads. */
export function tilesForRanges(ranges: ReadonlyArray<readonly [number, number]>): TileCoord[] {
  const seen = new Map<string, TileCoord>();
  for (const [start, end] of ranges) {
    const subs: Array<[number, number]> = [];
    alignedSubtrees(start, end, subs);
    for (const [h, index] of subs) {
      const level = Math.floor(h / TILE_HEIGHT);
      const t = Math.floor((index * 2 ** (h - level * TILE_HEIGHT)) / TILE_WIDTH);
      seen.set(tileId(level, t), { level, index: t });
    }
  }
  return [...seen.values()];
}

/** The partial tiles on the right edge of a tree of `size`: what appendToTiles reads. */
export function edgeTiles(size: number): TileCoord[] {
  const out: TileCoord[] = [];
  for (let level = 0, count = size; count > 0; level++, count = Math.floor(count / TILE_WIDTH)) {
    if (count % TILE_WIDTH !== 0) out.push({ level, index: Math.floor(count / TILE_WIDTH) });
  }
  return out;
}

/** The ranges an RFC 9162 inclusion proof of `index` in a tree of `size` hashes. */
export function inclusionRanges(index: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const path = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = largestPow2Below(n);
    if (m < k) {
      path(m, start, start + k);
      out.push([start + k, end]);
    } else {
      path(m - k, start + k, end);
      out.push([start, start + k]);
    }
  };
  if (index >= 0 && index < size) path(index, 0, size);
  return out;
}

/** The ranges an RFC 9162 consistency proof from `m` to `size` hashes. */
export function consistencyRanges(m: number, size: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const sub = (mm: number, start: number, end: number, b: boolean): void => {
    const n = end - start;
    if (mm === n) {
      if (!b) out.push([start, end]);
      return;
    }
    const k = largestPow2Below(n);
    if (mm <= k) {
      sub(mm, start, start + k, b);
      out.push([start + k, end]);
    } else {
      sub(mm - k, start + k, end, false);
      out.push([start, start + k]);
    }
  };
  if (m >= 1 && m <= size) sub(m, 0, size, true);
  return out;
}

function hashesOf(tile: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < tile.length; i += 32) out.push(tile.subarray(i, i + 32));
  return out;
}

/**
 * The tiles to write when `leafHashes` are appended to a tree of `size` leaves: every tile that
 * changes, whole. Pure: the caller writes them in the same transaction as the events.
 */
export function appendToTiles(read: TileReader, size: number, leafHashes: readonly Uint8Array[]): Map<string, { level: number; index: number; bytes: Uint8Array }> {
  const writes = new Map<string, { level: number; index: number; bytes: Uint8Array }>();
  let pending: Uint8Array[] = [...leafHashes];
  let start = size;
  for (let level = 0; pending.length > 0; level++) {
    const completed: Uint8Array[] = [];
    let nextStart = -1;
    let i = 0;
    while (i < pending.length) {
      const idx = start + i;
      const t = Math.floor(idx / TILE_WIDTH);
      const key = `${level}/${t}`;
      const prev = writes.get(key)?.bytes ?? read(level, t) ?? new Uint8Array(0);
      const offset = idx % TILE_WIDTH;
      if (prev.length !== offset * 32) throw new Error(`tile ${key} holds ${prev.length / 32} hashes, expected ${offset}`);
      const take = Math.min(TILE_WIDTH - offset, pending.length - i);
      const bytes = new Uint8Array((offset + take) * 32);
      bytes.set(prev, 0);
      for (let j = 0; j < take; j++) bytes.set(pending[i + j]!, (offset + j) * 32);
      writes.set(key, { level, index: t, bytes });
      if (offset + take === TILE_WIDTH) {
        if (nextStart < 0) nextStart = t;
        completed.push(merkleRoot(hashesOf(bytes)));
      }
      i += take;
    }
    pending = completed;
    start = nextStart;
  }
  return writes;
}

/** Read-side view of the tiled tree at a given size. */
export class TiledTree {
  constructor(
    private readonly read: TileReader,
    readonly size: number,
  ) {}

  /** Hash of the complete subtree of height `h` whose leftmost leaf is `index · 2^h`. */
  subtree(h: number, index: number): Uint8Array {
    const level = Math.floor(h / TILE_HEIGHT);
    const r = h - level * TILE_HEIGHT;
    const width = 2 ** r;
    const first = index * width;
    const t = Math.floor(first / TILE_WIDTH);
    const tile = this.read(level, t);
    const off = (first % TILE_WIDTH) * 32;
    if (!tile || tile.length < off + width * 32) throw new Error(`tile ${level}/${t} lacks the subtree ${h}/${index}`);
    if (width === 1) return tile.slice(off, off + 32);
    return merkleRoot(hashesOf(tile.subarray(off, off + width * 32)));
  }

  leafHash(index: number): Uint8Array {
    return this.subtree(0, index);
  }

  /** MTH(D[start, end)). RFC 9162 proofs only ask for ranges whose left parts are aligned
   * complete subtrees, which this answers from one tile each. */
  rangeHash(start: number, end: number): Uint8Array {
    const n = end - start;
    if (isPow2(n) && start % n === 0) return this.subtree(Math.round(Math.log2(n)), start / n);
    const k = largestPow2Below(n);
    return nodeHash(this.rangeHash(start, start + k), this.rangeHash(start + k, end));
  }

  root(): Uint8Array {
    if (this.size === 0) return merkleRoot([]);
    return this.rangeHash(0, this.size);
  }

  /** RFC 9162 §2.1.3.1 PATH(m, D[0:size]), bottom-up. */
  inclusionProof(index: number): Uint8Array[] {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) throw new RangeError(`index ${index} outside tree of ${this.size}`);
    return inclusionRanges(index, this.size).map(([a, b]) => this.rangeHash(a, b));
  }

  /** RFC 9162 §2.1.4.1 PROOF(m, D[0:size]); empty when m equals the size. */
  consistencyProof(m: number): Uint8Array[] {
    if (!Number.isSafeInteger(m) || m < 1 || m > this.size) throw new RangeError(`old size ${m} must be in [1, ${this.size}]`);
    return consistencyRanges(m, this.size).map(([a, b]) => this.rangeHash(a, b));
  }
}
