import { Agent, request } from 'node:http';

/*
 * A closed-loop HTTP load generator: `lanes` keep-alive connections, each sending its own queue
 * of pre-built request bodies one after another. A lane owns its senders, so each sender's
 * nonces arrive in order, as they would from one wallet.
 */

export interface LoadItem {
  readonly body: string;
  /** Tracking key: the tx hash the item will produce. */
  readonly key: string;
  /** For a batch request: the keys of every transaction in it (then `key` is the first). */
  readonly keys?: readonly string[];
}

export interface LoadResult {
  /** Submit time (performance.now()) of every item that was sent, by key. */
  readonly submitted: Map<string, number>;
  /** Response time minus submit time of every accepted item (2xx), ms. */
  readonly responseMs: number[];
  readonly accepted: number;
  readonly refused: Map<string, number>;
  readonly startedAt: number;
  readonly endedAt: number;
  /** True when some lane ran out of pre-signed items before the duration ended. */
  readonly exhausted: boolean;
  /** Keys of accepted items, for verification. */
  readonly acceptedKeys: string[];
}

export interface HttpTarget {
  readonly host: string;
  readonly port: number;
  readonly path: string;
}

export function postJson(agent: Agent, target: HttpTarget, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { agent, host: target.host, port: target.port, path: target.path, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function getJson<T>(agent: Agent, host: string, port: number, path: string): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host, port, path, method: 'GET' }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as T });
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * Sends each lane's items in order until `durationMs` passes. `accept` decides from the
 * response whether the item was admitted and, if not, under which code it was refused.
 */
export async function drive(
  target: HttpTarget,
  lanes: readonly (readonly LoadItem[])[],
  durationMs: number,
  accept: (status: number, text: string) => string | null,
  /** Closed loop on inclusion: a lane waits for this before its next request. */
  afterAccept?: (key: string) => Promise<void>,
): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: lanes.length });
  const submitted = new Map<string, number>();
  const responseMs: number[] = [];
  const refused = new Map<string, number>();
  const acceptedKeys: string[] = [];
  let accepted = 0;
  let exhausted = false;
  const startedAt = performance.now();
  const endAt = startedAt + durationMs;
  await Promise.all(
    lanes.map(async (items) => {
      for (const item of items) {
        if (performance.now() >= endAt) return;
        const t0 = performance.now();
        const keys = item.keys ?? [item.key];
        for (const k of keys) submitted.set(k, t0);
        let code: string | null;
        try {
          const res = await postJson(agent, target, item.body);
          code = accept(res.status, res.text);
        } catch (err) {
          code = `NETWORK:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
        }
        if (code === null) {
          accepted += keys.length;
          acceptedKeys.push(...keys);
          responseMs.push(performance.now() - t0);
          if (afterAccept) await afterAccept(item.key);
        } else {
          refused.set(code, (refused.get(code) ?? 0) + 1);
        }
      }
      if (performance.now() < endAt) exhausted = true;
    }),
  );
  const endedAt = performance.now();
  agent.destroy();
  return { submitted, responseMs, accepted, refused, startedAt, endedAt, exhausted, acceptedKeys };
}

/** Groups each lane's items into batch requests of `size` for POST /v1/txs/batch. */
export function batchLanes(lanes: readonly (readonly LoadItem[])[], size: number): LoadItem[][] {
  return lanes.map((items) => {
    const out: LoadItem[] = [];
    for (let i = 0; i < items.length; i += size) {
      const chunk = items.slice(i, i + size);
      out.push({ key: chunk[0]!.key, keys: chunk.map((c) => c.key), body: `{"transactions":[${chunk.map((c) => c.body).join(',')}]}` });
    }
    return out;
  });
}

/** Splits items that belong to `owners` over `lanes`: every owner's items stay on one lane, in
 * order, interleaved round-robin with the lane's other owners. */
export function assignLanes<T>(perOwner: readonly (readonly T[])[], lanes: number): T[][] {
  const out: T[][] = Array.from({ length: Math.min(lanes, perOwner.length) }, () => []);
  out.forEach((lane, li) => {
    const owners = perOwner.filter((_, oi) => oi % out.length === li);
    const longest = Math.max(0, ...owners.map((o) => o.length));
    for (let k = 0; k < longest; k++) for (const o of owners) if (k < o.length) lane.push(o[k]!);
  });
  return out;
}

/** Where a BlockFollower reads blocks: the head (with its hashes) and any block's hashes. */
export interface BlockSource {
  latest(): Promise<{ number: number; hashes: readonly string[] } | null>;
  hashes(n: number): Promise<readonly string[]>;
}

/** Follows new blocks and records when each hash was first seen in one; exact to a block,
 * and cheaper for the node than polling every transaction. */
export class BlockFollower {
  readonly seenAt = new Map<string, number>();
  blocks = 0;
  private next = 0;
  private stopped = false;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly source: BlockSource,
    private readonly onError: (err: Error) => void,
  ) {}

  start(fromBlock: number): void {
    this.next = fromBlock;
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.poll();
      } catch (err) {
        if (!this.stopped) this.onError(err as Error);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private async poll(): Promise<void> {
    const latest = await this.source.latest();
    if (latest === null) return;
    const now = performance.now();
    for (let n = this.next; n <= latest.number; n++) {
      const hashes = n === latest.number ? latest.hashes : await this.source.hashes(n);
      this.blocks++;
      for (const h of hashes) if (!this.seenAt.has(h)) this.seenAt.set(h, now);
    }
    this.next = Math.max(this.next, latest.number + 1);
  }

  /** Resolves once `hash` has been seen in a block (or after `timeoutMs`). */
  async waitForOne(hash: string, timeoutMs: number): Promise<void> {
    const end = performance.now() + timeoutMs;
    while (!this.seenAt.has(hash) && performance.now() < end && !this.stopped) await new Promise((r) => setTimeout(r, 5));
  }

  async waitFor(hashes: readonly string[], timeoutMs: number): Promise<boolean> {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end) {
      if (hashes.every((h) => this.seenAt.has(h))) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** Throughput in the load window and submit-to-inclusion latency of the accepted items. */
export function inclusionStats(load: LoadResult, seenAt: ReadonlyMap<string, number>, durationMs: number): { perSec: number; included: number; latencies: number[] } {
  const windowEnd = load.startedAt + durationMs;
  const latencies: number[] = [];
  let inWindow = 0;
  for (const h of load.acceptedKeys) {
    const seen = seenAt.get(h);
    if (seen === undefined) continue;
    latencies.push(seen - load.submitted.get(h)!);
    if (seen <= windowEnd) inWindow++;
  }
  return { perSec: inWindow / (durationMs / 1000), included: latencies.length, latencies };
}
