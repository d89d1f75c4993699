import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_SCHEMA, PgEventStore, pgSchemaVersion } from '../../src/events/index.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { describeStoreConformance } from './store-conformance.js';

// A real PostgreSQL started for this file (or STRAND_TEST_PG_URL's), a fresh database per test.
let pg: PostgresServer;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

describeStoreConformance('PostgreSQL', () => ({
  fresh: async () => ({ kind: 'postgres', url: await pg.createDatabase('strand_events') }),
  concurrentHandles: true,
}));

describe('PostgreSQL event store schema', () => {
  it('is created by versioned migrations at open, once, and a newer schema is refused', async () => {
    const url = await pg.createDatabase('strand_migrate');
    expect(await pgSchemaVersion(url)).toBe(0);
    // Two processes starting together: the advisory lock makes one migrate and the other wait.
    const [a, b] = await Promise.all([PgEventStore.open(url), PgEventStore.open(url)]);
    expect(await pgSchemaVersion(url)).toBe(1);
    expect([await a.size(), await b.size()]).toEqual([0, 0]);
    await Promise.all([a.close(), b.close()]);
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query(`INSERT INTO ${PG_SCHEMA}.migrations (version) VALUES (99)`);
    await c.end();
    await expect(PgEventStore.open(url)).rejects.toThrow(/version 99, newer than this node knows/);
  });
});
