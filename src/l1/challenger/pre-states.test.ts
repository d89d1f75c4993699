import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { PreStates } from './pre-states.js';
import { keyStr, type Leaves } from './prover.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function files(): { dir: string; states: PreStates } {
  const dir = mkdtempSync(join(tmpdir(), 'strand-prestates-'));
  dirs.push(dir);
  return { dir, states: new PreStates(dir) };
}

const leaf = fc.tuple(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }));
const toLeaves = (pairs: ReadonlyArray<[Uint8Array, Uint8Array]>): Leaves => new Map(pairs.map(([k, v]) => [keyStr(k), [k, v] as [Uint8Array, Uint8Array]]));

describe('PreStates (a game\'s pre-state on disk)', () => {
  it('gives back exactly the leaves and block it saved, for any state (property)', () => {
    const { states } = files();
    fc.assert(
      fc.property(fc.array(leaf, { maxLength: 40 }), fc.nat({ max: 2 ** 40 }), fc.nat({ max: 1_000 }), (pairs, prevBlock, index) => {
        const leaves = toLeaves(pairs);
        states.save(index, { prevBlock, leaves });
        const back = states.load(index)!;
        expect(back.prevBlock).toBe(prevBlock);
        expect([...back.leaves.entries()].map(([k, [a, b]]) => [k, [...a], [...b]])).toEqual([...leaves.entries()].map(([k, [a, b]]) => [k, [...a], [...b]]));
      }),
      { numRuns: 100 },
    );
  });

  it('lists and drops by output index; no temp file is left behind; a missing one is undefined', () => {
    const { dir, states } = files();
    const leaves = toLeaves([[new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)]]);
    states.save(7, { prevBlock: 3, leaves });
    states.save(9, { prevBlock: 5, leaves });
    expect(states.list().sort()).toEqual([7, 9]);
    expect(states.has(7)).toBe(true);
    expect(readdirSync(dir).some((f) => f.endsWith('.tmp'))).toBe(false);
    states.drop(7);
    expect(states.list()).toEqual([9]);
    expect(states.load(7)).toBeUndefined();
    expect(new PreStates(dir).load(9)?.prevBlock).toBe(5); // another process reads it back
  });

  it('refuses a corrupt or truncated file rather than return a partial state', () => {
    const { dir, states } = files();
    const leaves = toLeaves([1, 2, 3].map((i) => [new Uint8Array(32).fill(i), new Uint8Array(32).fill(i + 10)]));
    states.save(1, { prevBlock: 4, leaves });
    const path = join(dir, 'output-1.state');
    const good = readFileSync(path);
    for (const at of [0, 9, 20, 60, good.length - 1]) {
      const bad = Buffer.from(good);
      bad[at]! ^= 0x01;
      writeFileSync(path, bad);
      expect(() => states.load(1)).toThrow(/output 1 .* is (not a pre-state file|corrupt)/);
    }
    writeFileSync(path, good.subarray(0, good.length - 40));
    expect(() => states.load(1)).toThrow(/corrupt|truncated/);
    writeFileSync(path, good);
    expect(states.load(1)?.leaves.size).toBe(3);
    expect(existsSync(path)).toBe(true);
  });
});
