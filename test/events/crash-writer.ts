import { writeSync } from 'node:fs';
import { EventService, LmdbEventStore, PgEventStore, parseVesEvent, type EventStore, type JsonValue } from '../../src/events/index.js';
import { LOG_SEED, ORIGIN, type StoreSpec } from './store-conformance.js';

/*
 * The writer store-conformance.ts kills: opens the store, ingests the batch it is given, and
 * from inside the commit (after every write of the batch, before the commit itself) prints
 * COMMITTING and blocks until the test SIGKILLs it.
 * argv: store spec JSON, agent seed hex (unused: the events come signed), events JSON.
 */
const [specJson, , eventsJson] = process.argv.slice(2);
const spec = JSON.parse(specJson!) as StoreSpec;
const beforeCommit = (): void => {
  writeSync(1, 'COMMITTING\n');
  // Blocks this thread for good without spinning; only SIGKILL ends it.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
};
const store: EventStore = spec.kind === 'lmdb' ? LmdbEventStore.open(spec.path, { beforeCommit }) : await PgEventStore.open(spec.url, { beforeCommit });
const svc = new EventService(store, { origin: ORIGIN, signingSeed: LOG_SEED });
const events = (JSON.parse(eventsJson!) as Array<Record<string, JsonValue>>).map((e) => parseVesEvent(e, { maxPayloadBytes: 65536 }));
await svc.ingest(events, 'atomic');
writeSync(1, 'COMMITTED (the hook did not block)\n');
process.exit(3);
