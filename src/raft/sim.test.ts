import { describe, expect, it } from 'vitest';
import { configFor, runSchedule, type ScheduleResult } from './sim/cluster.js';

/*
 * Randomized schedules over the simulated cluster, every safety property checked after every
 * round. Default: 10,000 schedules from seed 1. RAFT_SEEDS=<n> scales it, RAFT_SEED_BASE moves
 * the window, RAFT_SEED=<n> replays one schedule.
 */

const one = process.env.RAFT_SEED;
const count = Number(process.env.RAFT_SEEDS ?? 10_000);
const base = Number(process.env.RAFT_SEED_BASE ?? 1);
/** Liveness bound: rounds (ticks) from the end of faults to a marker write applied everywhere. */
const LIVENESS_ROUNDS = 400;

function run(seed: number): ScheduleResult {
  try {
    return runSchedule(seed);
  } catch (err) {
    throw new Error(
      `Raft simulation failed at seed ${seed} (${JSON.stringify(configFor(seed))}): ${(err as Error).message}\n` +
        `replay: RAFT_SEED=${seed} npx vitest run src/raft/sim.test.ts`,
      { cause: err },
    );
  }
}

describe('raft simulation', () => {
  if (one !== undefined) {
    it(`replays seed ${one}`, () => {
      run(Number(one));
    });
    return;
  }
  const chunks = 4;
  const per = Math.ceil(count / chunks);
  for (let c = 0; c < chunks; c++) {
    const from = base + c * per;
    const to = Math.min(base + count, from + per);
    it(`schedules ${from}..${to - 1} keep every safety property and converge after faults stop`, () => {
      const total = { commits: 0, crashes: 0, lostReadies: 0, snapshotsInstalled: 0, confChangesApplied: 0, readsChecked: 0, leaderTerms: 0 };
      let worst = 0;
      for (let seed = from; seed < to; seed++) {
        const r = run(seed);
        total.commits += r.commits;
        for (const k of Object.keys(r.stats) as Array<keyof ScheduleResult['stats']>) total[k] += r.stats[k];
        worst = Math.max(worst, r.converged);
      }
      expect(worst).toBeLessThanOrEqual(LIVENESS_ROUNDS);
      // The faults really happened: a vacuous simulation proves nothing.
      if (to - from >= 200) {
        for (const [k, v] of Object.entries(total)) expect(v, k).toBeGreaterThan(0);
        expect(total.leaderTerms).toBeGreaterThan(2 * (to - from));
      }
    }, 120_000);
  }
});
