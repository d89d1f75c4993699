import { ByteReader, ByteWriter, CodecError } from '../core/index.js';
import type {
  ConfChange,
  ConfChangeType,
  ConfState,
  Entry,
  HardState,
  Message,
  MessageType,
  Snapshot,
} from './types.js';

/*
 * Binary forms for the transport and the LMDB adapter. Decoders are fed bytes from the network,
 * so every read is bounds-checked (ByteReader), every tag and flag is validated and trailing
 * bytes are refused: a malformed frame is a CodecError, never a crash or a half-built value.
 */

const MSG_TAGS: Record<MessageType, number> = {
  app: 1,
  appResp: 2,
  vote: 3,
  voteResp: 4,
  preVote: 5,
  preVoteResp: 6,
  heartbeat: 7,
  heartbeatResp: 8,
  snap: 9,
  timeoutNow: 10,
  readIndex: 11,
  readIndexResp: 12,
};
const MSG_TYPES = new Map<number, MessageType>(Object.entries(MSG_TAGS).map(([k, v]) => [v, k as MessageType]));
const CC_TAGS: Record<ConfChangeType, number> = { addLearner: 1, promote: 2, remove: 3 };
const CC_TYPES = new Map<number, ConfChangeType>(Object.entries(CC_TAGS).map(([k, v]) => [v, k as ConfChangeType]));

function bool(r: ByteReader): boolean {
  const b = r.u8();
  if (b > 1) throw new CodecError(`bad flag ${b}`);
  return b === 1;
}

function blob(w: ByteWriter, b: Uint8Array): void {
  w.u32(b.length).bytes(b);
}

function readBlob(r: ByteReader): Uint8Array {
  return r.bytes(r.u32());
}

function ids(w: ByteWriter, list: readonly number[]): void {
  w.u32(list.length);
  for (const id of list) w.u64(id);
}

function readIds(r: ByteReader): number[] {
  const n = r.u32();
  if (n * 8 > r.remaining) throw new CodecError('id list longer than the frame');
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.u64Number());
  return out;
}

export function writeEntry(w: ByteWriter, e: Entry): void {
  w.u64(e.index).u64(e.term).u8(e.type === 'conf' ? 1 : 0);
  blob(w, e.data);
}

export function readEntry(r: ByteReader): Entry {
  const index = r.u64Number();
  const term = r.u64Number();
  const type = bool(r) ? 'conf' : 'normal';
  return { index, term, type, data: readBlob(r) };
}

function writeConf(w: ByteWriter, c: ConfState): void {
  ids(w, c.voters);
  ids(w, c.learners);
}

function readConf(r: ByteReader): ConfState {
  return { voters: readIds(r), learners: readIds(r) };
}

function writeSnapshot(w: ByteWriter, s: Snapshot): void {
  w.u64(s.meta.index).u64(s.meta.term);
  writeConf(w, s.meta.conf);
  blob(w, s.data);
}

function readSnapshot(r: ByteReader): Snapshot {
  const index = r.u64Number();
  const term = r.u64Number();
  const conf = readConf(r);
  return { meta: { index, term, conf }, data: readBlob(r) };
}

function whole<T>(bytes: Uint8Array, read: (r: ByteReader) => T): T {
  const r = new ByteReader(bytes);
  const v = read(r);
  r.end();
  return v;
}

export const encodeEntry = (e: Entry): Uint8Array => {
  const w = new ByteWriter(32 + e.data.length);
  writeEntry(w, e);
  return w.finish();
};
export const decodeEntry = (b: Uint8Array): Entry => whole(b, readEntry);

export const encodeSnapshot = (s: Snapshot): Uint8Array => {
  const w = new ByteWriter(64 + s.data.length);
  writeSnapshot(w, s);
  return w.finish();
};
export const decodeSnapshot = (b: Uint8Array): Snapshot => whole(b, readSnapshot);

export const encodeHardState = (h: HardState): Uint8Array => new ByteWriter(24).u64(h.term).u64(h.vote).u64(h.commit).finish();
export const decodeHardState = (b: Uint8Array): HardState =>
  whole(b, (r) => ({ term: r.u64Number(), vote: r.u64Number(), commit: r.u64Number() }));

export function encodeConfChange(cc: ConfChange): Uint8Array {
  const w = new ByteWriter(16 + cc.context.length).u8(CC_TAGS[cc.type]).u64(cc.node);
  blob(w, cc.context);
  return w.finish();
}

export function decodeConfChange(b: Uint8Array): ConfChange {
  return whole(b, (r) => {
    const type = CC_TYPES.get(r.u8());
    if (!type) throw new CodecError('unknown conf change type');
    return { type, node: r.u64Number(), context: readBlob(r) };
  });
}

export function encodeMessage(m: Message): Uint8Array {
  const w = new ByteWriter(64).u8(MSG_TAGS[m.type]).u64(m.from).u64(m.to).u64(m.term);
  switch (m.type) {
    case 'app':
      w.u64(m.prevIndex).u64(m.prevTerm).u64(m.commit).u32(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      break;
    case 'appResp':
      w.u64(m.index).u8(m.reject ? 1 : 0).u64(m.hintIndex).u64(m.hintTerm);
      break;
    case 'vote':
    case 'preVote':
      w.u64(m.lastIndex).u64(m.lastTerm).u8(m.transfer ? 1 : 0);
      break;
    case 'voteResp':
    case 'preVoteResp':
      w.u8(m.reject ? 1 : 0);
      break;
    case 'heartbeat':
      w.u64(m.commit);
      blob(w, m.context);
      break;
    case 'heartbeatResp':
    case 'readIndex':
      blob(w, m.context);
      break;
    case 'snap':
      writeSnapshot(w, m.snapshot);
      break;
    case 'timeoutNow':
      break;
    case 'readIndexResp':
      w.u64(m.index);
      blob(w, m.context);
      break;
  }
  return w.finish();
}

export function decodeMessage(bytes: Uint8Array): Message {
  return whole(bytes, (r): Message => {
    const type = MSG_TYPES.get(r.u8());
    if (!type) throw new CodecError('unknown message type');
    const h = { from: r.u64Number(), to: r.u64Number(), term: r.u64Number() };
    switch (type) {
      case 'app': {
        const prevIndex = r.u64Number();
        const prevTerm = r.u64Number();
        const commit = r.u64Number();
        const n = r.u32();
        const entries: Entry[] = [];
        // Each entry takes at least 21 bytes: a lying count fails here instead of looping.
        if (n * 21 > r.remaining) throw new CodecError('entry count longer than the frame');
        for (let i = 0; i < n; i++) entries.push(readEntry(r));
        return { type, ...h, prevIndex, prevTerm, commit, entries };
      }
      case 'appResp':
        return { type, ...h, index: r.u64Number(), reject: bool(r), hintIndex: r.u64Number(), hintTerm: r.u64Number() };
      case 'vote':
      case 'preVote':
        return { type, ...h, lastIndex: r.u64Number(), lastTerm: r.u64Number(), transfer: bool(r) };
      case 'voteResp':
      case 'preVoteResp':
        return { type, ...h, reject: bool(r) };
      case 'heartbeat':
        return { type, ...h, commit: r.u64Number(), context: readBlob(r) };
      case 'heartbeatResp':
      case 'readIndex':
        return { type, ...h, context: readBlob(r) };
      case 'snap':
        return { type, ...h, snapshot: readSnapshot(r) };
      case 'timeoutNow':
        return { type, ...h };
      case 'readIndexResp':
        return { type, ...h, index: r.u64Number(), context: readBlob(r) };
    }
  });
}
