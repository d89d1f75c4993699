// The pre-states of the games a party plays, kept on disk. A trace starts from the state at the
// previous output's block, and a node prunes old states after `historyBlocks` blocks: sooner than
// a game with clocks of days can end. A restart also forgets the traces held in memory. So the
// party saves the state's leaves when it commits to a game (the challenger before it opens one,
// the defender when it first answers) and rebuilds a trace from the file once its chain no
// longer has that state. The trace checks the leaves against the block's state root, so a file
// that was tampered with cannot make the party play a wrong trace.
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { keyStr, type Leaves } from './prover.js';

const MAGIC = Buffer.from('STRANDPS', 'ascii');
const VERSION = 1;
const HEADER = MAGIC.length + 1 + 8 + 4;
const CHECKSUM = 32;
const FILE = /^output-(\d+)\.state$/;

export interface SavedPreState {
  /** The L2 block whose state these leaves are (the previous output's block). */
  readonly prevBlock: number;
  readonly leaves: Leaves;
}

export class PreStates {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  private path(outputIndex: number): string {
    return join(this.dir, `output-${outputIndex}.state`);
  }

  /** Output indexes with a saved pre-state. */
  list(): number[] {
    return readdirSync(this.dir).flatMap((f) => {
      const m = FILE.exec(f);
      return m ? [Number(m[1])] : [];
    });
  }

  has(outputIndex: number): boolean {
    return this.list().includes(outputIndex);
  }

  /** Writes atomically (temp file, fsync, rename): a crash leaves the old file or the new one. */
  save(outputIndex: number, state: SavedPreState): void {
    const body = Buffer.alloc(HEADER + state.leaves.size * 64);
    MAGIC.copy(body, 0);
    body.writeUInt8(VERSION, MAGIC.length);
    body.writeBigUInt64BE(BigInt(state.prevBlock), MAGIC.length + 1);
    body.writeUInt32BE(state.leaves.size, MAGIC.length + 9);
    let at = HEADER;
    for (const [key, value] of state.leaves.values()) {
      body.set(key, at);
      body.set(value, at + 32);
      at += 64;
    }
    const checksum = createHash('sha256').update(body).digest();
    const tmp = `${this.path(outputIndex)}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, body);
      writeSync(fd, checksum);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path(outputIndex));
  }

  /** The saved pre-state of a game over `outputIndex`; undefined if none; throws on a file that
   * is truncated or corrupt (never a partial state). */
  load(outputIndex: number): SavedPreState | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.path(outputIndex));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const corrupt = (why: string): Error => new Error(`the saved pre-state of output ${outputIndex} (${this.path(outputIndex)}) is ${why}`);
    if (bytes.length < HEADER + CHECKSUM || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw corrupt('not a pre-state file');
    const body = bytes.subarray(0, bytes.length - CHECKSUM);
    if (!createHash('sha256').update(body).digest().equals(bytes.subarray(bytes.length - CHECKSUM))) throw corrupt('corrupt (checksum)');
    if (body.readUInt8(MAGIC.length) !== VERSION) throw corrupt(`of an unknown version ${body.readUInt8(MAGIC.length)}`);
    const prevBlock = Number(body.readBigUInt64BE(MAGIC.length + 1));
    const count = body.readUInt32BE(MAGIC.length + 9);
    if (body.length !== HEADER + count * 64) throw corrupt('truncated');
    const leaves: Leaves = new Map();
    for (let i = 0, at = HEADER; i < count; i++, at += 64) {
      const key = new Uint8Array(body.subarray(at, at + 32));
      leaves.set(keyStr(key), [key, new Uint8Array(body.subarray(at + 32, at + 64))]);
    }
    return { prevBlock, leaves };
  }

  drop(outputIndex: number): void {
    rmSync(this.path(outputIndex), { force: true });
  }
}
