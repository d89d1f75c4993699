// Crafting raw DEFLATE streams bit by bit (RFC 1951) for the inflater's tests: the TypeScript
// twin's (test/l1/batcher/inflate.test.ts) and the Solidity one's (test/contracts/inflate.test.ts).

/** LSB-first bit writer; `code` writes a Huffman code MSB-first, as RFC 1951 packs it. */
export class Bits {
  private readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;
  put(value: number, count: number): this {
    for (let i = 0; i < count; i++) this.bit((value >>> i) & 1);
    return this;
  }
  code(code: number, len: number): this {
    for (let i = len - 1; i >= 0; i--) this.bit((code >>> i) & 1);
    return this;
  }
  private bit(b: number): void {
    this.acc |= b << this.n;
    if (++this.n === 8) this.flush();
  }
  private flush(): void {
    this.bytes.push(this.acc);
    this.acc = 0;
    this.n = 0;
  }
  /** Pads the last byte with `pad` bits. */
  done(pad = 0): Uint8Array {
    while (this.n !== 0) this.bit(pad);
    return Uint8Array.from(this.bytes);
  }
}

/** Canonical codes (RFC 1951 3.2.2) of a list of lengths. */
export function canonical(lens: readonly number[]): number[] {
  const count = new Array<number>(16).fill(0);
  for (const l of lens) if (l) count[l]!++;
  const next = new Array<number>(16).fill(0);
  for (let l = 1, code = 0; l < 16; l++) {
    code = (code + (l > 1 ? count[l - 1]! : 0)) << 1;
    next[l] = code;
  }
  return lens.map((l) => (l ? next[l]!++ : 0));
}

export const FIXED_LIT = Array.from({ length: 288 }, (_, i) => (i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8));
export const FIXED_LIT_CODES = canonical(FIXED_LIT);
