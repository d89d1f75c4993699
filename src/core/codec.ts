import { ByteReader, ByteWriter, CodecError } from './bytes.js';
import type { Hex } from './hex.js';
import type { Block, BlockHeader, Deposit, Entry, ForcedWithdrawal, SealedHeader, SignedTx, TxType, Withdrawal } from './tx.js';
import type { Address, Hash } from './types.js';

/*
 * Canonical binary encodings. These bytes are hashed into headers and will be posted to L1 and
 * re-read by the fraud-proof contract, so the layout is fixed-width big-endian and has exactly
 * one encoding per value (decoders refuse trailing bytes and unknown tags).
 */

const TAG: Record<Entry['type'], number> = { transfer: 1, withdraw: 2, deposit: 3, forcedWithdrawal: 4 };
export const ENTRY_TAGS = TAG;

export type UnhashedEntry = Omit<SignedTx, 'hash'> | Omit<Deposit, 'hash'> | Omit<ForcedWithdrawal, 'hash'>;

export function writeEntry(w: ByteWriter, entry: UnhashedEntry): void {
  w.u8(TAG[entry.type]);
  if (entry.type === 'deposit' || entry.type === 'forcedWithdrawal') {
    w.u64(entry.queueIndex).hex(entry.l1TxHash, 32).u32(entry.logIndex).hex(entry.from, 20).hex(entry.to, 20).hex(entry.token, 20).u256(entry.amount);
    return;
  }
  const m = entry.message;
  w.hex(entry.from, 20).hex(m.to, 20).hex(m.token, 20).u256(m.amount).u256(m.fee).u64(m.nonce).hex(entry.signature, 65);
}

export function encodeEntry(entry: UnhashedEntry): Uint8Array {
  const w = new ByteWriter(200);
  writeEntry(w, entry);
  return w.finish();
}

export function readEntry(r: ByteReader): UnhashedEntry {
  const tag = r.u8();
  if (tag === TAG.deposit || tag === TAG.forcedWithdrawal) {
    return {
      type: tag === TAG.deposit ? 'deposit' : 'forcedWithdrawal',
      queueIndex: r.u64(),
      l1TxHash: r.hex<Hash>(32),
      logIndex: r.u32(),
      from: r.hex<Address>(20),
      to: r.hex<Address>(20),
      token: r.hex<Address>(20),
      amount: r.u256(),
    };
  }
  if (tag !== TAG.transfer && tag !== TAG.withdraw) throw new CodecError(`unknown entry tag ${tag}`);
  const type: TxType = tag === TAG.transfer ? 'transfer' : 'withdraw';
  const from = r.hex<Address>(20);
  const to = r.hex<Address>(20);
  const token = r.hex<Address>(20);
  const amount = r.u256();
  const fee = r.u256();
  const nonce = r.u64();
  const signature = r.hex<Hex>(65);
  return { type, from, message: { to, token, amount, fee, nonce }, signature };
}

export function decodeEntry(bytes: Uint8Array): UnhashedEntry {
  const r = new ByteReader(bytes);
  const entry = readEntry(r);
  r.end();
  return entry;
}

export function encodeHeader(h: BlockHeader): Uint8Array {
  return new ByteWriter(168)
    .u64(h.number)
    .hex(h.parentHash, 32)
    .u64(h.timestamp)
    .u32(h.txCount)
    .hex(h.txRoot, 32)
    .hex(h.stateRoot, 32)
    .hex(h.withdrawalsRoot, 32)
    .hex(h.sequencer, 20)
    .finish();
}

function readHeader(r: ByteReader): BlockHeader {
  return {
    number: r.u64Number(),
    parentHash: r.hex<Hash>(32),
    timestamp: r.u64Number(),
    txCount: r.u32(),
    txRoot: r.hex<Hash>(32),
    stateRoot: r.hex<Hash>(32),
    withdrawalsRoot: r.hex<Hash>(32),
    sequencer: r.hex<Address>(20),
  };
}

export function decodeHeader(bytes: Uint8Array): BlockHeader {
  const r = new ByteReader(bytes);
  const h = readHeader(r);
  r.end();
  return h;
}

/**
 * Storage form of a block: the sealed header, then each entry with its hash. Hashes are stored
 * because the node trusts its own store; data read from L1 is re-hashed by the reader instead.
 */
export function encodeBlock(block: Block): Uint8Array {
  const w = new ByteWriter(300 + block.entries.length * 240);
  w.bytes(encodeHeader(block.header)).hex(block.header.hash, 32).hex(block.header.signature, 65);
  w.u32(block.entries.length);
  for (const e of block.entries) {
    w.hex(e.hash, 32);
    writeEntry(w, e);
  }
  return w.finish();
}

export function decodeBlock(bytes: Uint8Array): Block {
  const r = new ByteReader(bytes);
  const header: SealedHeader = { ...readHeader(r), hash: r.hex<Hash>(32), signature: r.hex<Hex>(65) };
  const count = r.u32();
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const hash = r.hex<Hash>(32);
    entries.push({ ...readEntry(r), hash } as Entry);
  }
  r.end();
  return { header, entries };
}

export const WITHDRAWAL_BYTES = 124;

export function decodeWithdrawal(bytes: Uint8Array): Withdrawal {
  const r = new ByteReader(bytes);
  const w: Withdrawal = { txHash: r.hex<Hash>(32), from: r.hex<Address>(20), to: r.hex<Address>(20), token: r.hex<Address>(20), amount: r.u256() };
  r.end();
  return w;
}

/** The leaf of the withdrawals tree; the L1 portal re-encodes exactly these bytes. */
export function encodeWithdrawal(w: Withdrawal): Uint8Array {
  return new ByteWriter(124).hex(w.txHash, 32).hex(w.from, 20).hex(w.to, 20).hex(w.token, 20).u256(w.amount).finish();
}
