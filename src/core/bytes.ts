/** Thrown when bytes do not decode; callers at the edge turn it into a 4xx or a rejected batch. */
export class CodecError extends Error {
  override readonly name = 'CodecError';
}

/** Growable big-endian byte writer for the canonical encodings. */
export class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf.writeUInt8(v, this.len);
    this.len += 1;
    return this;
  }

  u16(v: number): this {
    this.reserve(2);
    this.buf.writeUInt16BE(v, this.len);
    this.len += 2;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    this.buf.writeUInt32BE(v, this.len);
    this.len += 4;
    return this;
  }

  u64(v: bigint | number): this {
    this.reserve(8);
    this.buf.writeBigUInt64BE(BigInt(v), this.len);
    this.len += 8;
    return this;
  }

  u256(v: bigint): this {
    if (v < 0n || v >> 256n !== 0n) throw new CodecError('u256 out of range');
    this.reserve(32);
    let x = v;
    for (let i = 31; i >= 0; i--) {
      this.buf[this.len + i] = Number(x & 0xffn);
      x >>= 8n;
    }
    this.len += 32;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  /** Hex string of a known length in bytes, written raw. */
  hex(h: string, size: number): this {
    if (h.length !== 2 + size * 2) throw new CodecError(`expected ${size} bytes of hex`);
    this.reserve(size);
    this.buf.write(h.slice(2), this.len, size, 'hex');
    this.len += size;
    return this;
  }

  finish(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.len).slice();
  }
}

export class ByteReader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new CodecError(`truncated: need ${n} bytes at offset ${this.pos}`);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    this.need(1);
    return this.buf.readUInt8(this.pos++);
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A u64 that must fit a JS number (block numbers, timestamps). */
  u64Number(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new CodecError('u64 above 2^53');
    return Number(v);
  }

  u256(): bigint {
    this.need(32);
    const v = BigInt(`0x${this.buf.toString('hex', this.pos, this.pos + 32)}`);
    this.pos += 32;
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = new Uint8Array(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  hex<T extends string>(n: number): T {
    this.need(n);
    const out = `0x${this.buf.toString('hex', this.pos, this.pos + n)}` as T;
    this.pos += n;
    return out;
  }

  end(): void {
    if (this.pos !== this.buf.length) throw new CodecError(`${this.buf.length - this.pos} trailing bytes`);
  }
}
