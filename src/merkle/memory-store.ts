import type { NodeReader } from './smt-node.js';

export type NodeBatch = { newNodes: ReadonlyArray<readonly [Uint8Array, Uint8Array]> };

// latin1 maps each byte to one char: an exact, compact string form of bytes.
function toStr(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}

/** Map-backed node store for tests and tools; the node's LMDB store implements the same reader.
 * Nodes are held as strings, not Uint8Arrays: millions of small ArrayBuffers make V8's GC
 * crawl, while one-byte strings are single compact heap objects. */
export class MemoryNodeStore implements NodeReader {
  private readonly nodes = new Map<string, string>();

  getNode(key: Uint8Array): Uint8Array | undefined {
    const s = this.nodes.get(toStr(key));
    if (s === undefined) return undefined;
    const b = Buffer.from(s, 'latin1');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  /** Stores the new nodes of an update; stale nodes stay until `prune`, for historical reads. */
  write(batch: NodeBatch): void {
    for (const [key, node] of batch.newNodes) this.nodes.set(toStr(key), toStr(node));
  }

  prune(keys: readonly Uint8Array[]): void {
    for (const key of keys) this.nodes.delete(toStr(key));
  }

  get size(): number {
    return this.nodes.size;
  }
}
