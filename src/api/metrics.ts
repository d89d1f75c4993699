import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Metrics the HTTP layer records and the node feeds (head, mempool, block build time). */
export interface ApiMetrics {
  readonly registry: Registry;
  readonly txsAccepted: Counter;
  readonly txsRejected: Counter<'code'>;
  readonly headBlock: Gauge;
  readonly mempoolSize: Gauge;
  readonly blockBuildSeconds: Histogram;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** 429s the rate limiter gave, by what was limited (key or ip). */
  readonly rateLimited: Counter<'subject'>;
  /** Requests the rate limiter could not check because its store (Redis) was unreachable. */
  readonly rateLimitStoreErrors: Counter<'outcome'>;
}

export function createApiMetrics(registry: Registry): ApiMetrics {
  const registers = [registry];
  return {
    registry,
    txsAccepted: new Counter({
      name: 'strand_txs_accepted_total',
      help: 'Transactions admitted to the mempool through the API',
      registers,
    }),
    txsRejected: new Counter({
      name: 'strand_txs_rejected_total',
      help: 'Transaction submissions refused, by error code',
      labelNames: ['code'] as const,
      registers,
    }),
    headBlock: new Gauge({ name: 'strand_head_block', help: 'Number of the latest sequenced block', registers }),
    mempoolSize: new Gauge({ name: 'strand_mempool_size', help: 'Transactions waiting in the mempool', registers }),
    blockBuildSeconds: new Histogram({
      name: 'strand_block_build_seconds',
      help: 'Time to build and seal one block',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'strand_http_request_duration_seconds',
      help: 'HTTP request latency by route template (health and metrics excluded)',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    rateLimited: new Counter({
      name: 'strand_http_rate_limited_total',
      help: 'Requests refused with 429 RATE_LIMITED, by subject (key or ip)',
      labelNames: ['subject'] as const,
      registers,
    }),
    rateLimitStoreErrors: new Counter({
      name: 'strand_rate_limit_store_errors_total',
      help: 'Requests whose rate limit could not be checked (store unreachable), by outcome (allowed: fail open; refused: fail closed)',
      labelNames: ['outcome'] as const,
      registers,
    }),
  };
}
