import { ByteReader, ByteWriter, CodecError } from '../../core/index.js';
import type { NodeId } from '../types.js';

/*
 * The wire between Raft peers: a stream of frames, each a u32 big-endian length and that many
 * bytes. The first frame a dialer sends is a Hello (who it is, whom it thinks it is calling, and
 * which cluster); the listener answers with one Welcome frame and, if it accepted, every later
 * frame from the dialer is one `encodeMessage` payload. Traffic on a connection flows one way
 * (dialer to listener), as in etcd: each node dials every peer it has something to say to, so
 * replies travel on the replier's own connection and one slow direction never stalls the other.
 */

export const FRAME_HEADER_BYTES = 4;
/** Default refusal threshold: entries of up to ~1 MB and snapshots must fit, a lying header must not allocate gigabytes. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
export const PROTOCOL_VERSION = 1;
const MAGIC = 0x53524654; // "SRFT"
const MAX_CLUSTER_ID_BYTES = 255;

export class FrameTooLargeError extends CodecError {
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super(`frame of ${size} bytes above the limit of ${max}`);
  }
}

export function encodeFrame(payload: Uint8Array, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Buffer {
  if (payload.length > maxFrameBytes) throw new FrameTooLargeError(payload.length, maxFrameBytes);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Reassembles frames from TCP chunks. Chunks are kept in a list and copied once per frame, so a
 * 1 MB frame arriving in 64 KB pieces costs one copy, not sixteen. The length is checked before
 * the body is buffered: an oversize header fails at once instead of after we held its bytes.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = -1;

  constructor(private readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Returns every frame the chunk completes. Throws FrameTooLargeError; the stream is then unusable. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.buffered += chunk.length;
    }
    const out: Uint8Array[] = [];
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const size = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
        this.need = size;
      }
      if (this.buffered < this.need) break;
      // A copy the caller owns: decoders keep subarrays of it, and the chunk buffers are pooled by net.
      out.push(new Uint8Array(this.take(this.need)));
      this.need = -1;
    }
    return out;
  }

  /** Bytes held for an incomplete frame (for tests and stats). */
  get pending(): number {
    return this.buffered;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) {
      const head = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return head;
    }
    const joined = Buffer.allocUnsafe(n);
    let at = 0;
    while (at < n) {
      const c = this.chunks[0]!;
      const k = Math.min(c.length, n - at);
      c.copy(joined, at, 0, k);
      at += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    this.buffered -= n;
    return joined;
  }
}

export interface Hello {
  readonly version: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly clusterId: string;
}

export enum WelcomeStatus {
  Ok = 0,
  WrongCluster = 1,
  WrongNode = 2,
  BadVersion = 3,
  Malformed = 4,
}

export interface Welcome {
  readonly status: WelcomeStatus;
  readonly reason: string;
}

function str(w: ByteWriter, s: string): void {
  const b = Buffer.from(s, 'utf8');
  if (b.length > MAX_CLUSTER_ID_BYTES) throw new CodecError('string too long for a handshake');
  w.u8(b.length).bytes(b);
}

function readStr(r: ByteReader): string {
  const b = r.bytes(r.u8());
  const s = Buffer.from(b).toString('utf8');
  // Refuses invalid UTF-8 instead of comparing replacement characters.
  if (!Buffer.from(s, 'utf8').equals(Buffer.from(b))) throw new CodecError('handshake string is not UTF-8');
  return s;
}

export function encodeHello(h: Omit<Hello, 'version'> & { version?: number }): Uint8Array {
  const w = new ByteWriter(32).u32(MAGIC).u8(h.version ?? PROTOCOL_VERSION).u64(h.from).u64(h.to);
  str(w, h.clusterId);
  return w.finish();
}

export function decodeHello(b: Uint8Array): Hello {
  const r = new ByteReader(b);
  if (r.u32() !== MAGIC) throw new CodecError('not a Strand raft handshake');
  const version = r.u8();
  const hello = { version, from: r.u64Number(), to: r.u64Number(), clusterId: readStr(r) };
  r.end();
  return hello;
}

export function encodeWelcome(w: Welcome): Uint8Array {
  const out = new ByteWriter(16).u32(MAGIC).u8(w.status);
  str(out, w.reason.slice(0, 200));
  return out.finish();
}

export function decodeWelcome(b: Uint8Array): Welcome {
  const r = new ByteReader(b);
  if (r.u32() !== MAGIC) throw new CodecError('not a Strand raft handshake reply');
  const status = r.u8();
  if (!(status in WelcomeStatus)) throw new CodecError(`unknown handshake status ${status}`);
  const reason = readStr(r);
  r.end();
  return { status: status as WelcomeStatus, reason };
}

/** What a listener answers a Hello with: Ok, or why the dialer is refused. */
export function judgeHello(h: Hello, self: NodeId, clusterId: string): Welcome {
  if (h.version !== PROTOCOL_VERSION) return { status: WelcomeStatus.BadVersion, reason: `protocol version ${h.version}, expected ${PROTOCOL_VERSION}` };
  if (h.clusterId !== clusterId) return { status: WelcomeStatus.WrongCluster, reason: `cluster "${h.clusterId}", this node is in "${clusterId}"` };
  if (h.to !== self) return { status: WelcomeStatus.WrongNode, reason: `dialed node ${h.to}, this is node ${self}` };
  if (h.from === 0 || h.from === self) return { status: WelcomeStatus.WrongNode, reason: `dialer claims id ${h.from}` };
  return { status: WelcomeStatus.Ok, reason: '' };
}
