import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { InvariantError, StrandError, txFromJson, type Hash } from '../core/index.js';
import type { ApiMetrics } from './metrics.js';
import {
  BatchBody,
  BatchResponse,
  errorResponses,
  HashParams,
  MAX_BATCH,
  SubmitResponse,
  TxBody,
  TxResponse,
} from './schemas.js';
import type { ApiServices, TxSubmission } from './services.js';
import { txView } from './views.js';

/** Set by a cluster member that forwards a submission to its leader: never forwarded twice. */
export const FORWARDED_HEADER = 'x-strand-forwarded';

/*
 * Bodies skip Ajv: the schema documents them, and core's txFromJson parses them so that every
 * problem gets its stable code (AMOUNT_OUT_OF_RANGE, INVALID_SIGNATURE, ...) rather than a
 * generic schema message, and the API and the SDK cannot disagree on what is valid.
 */
const parsedByHandler: FastifySchemaCompiler<unknown> = () => () => true;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type ItemError = { code: StrandError['code']; message: string };

function parseItem(input: unknown): { tx: TxSubmission } | { error: ItemError } {
  try {
    return { tx: txFromJson(input) };
  } catch (err) {
    if (err instanceof StrandError) return { error: { code: err.code, message: err.message } };
    throw err;
  }
}

function parseBatch(body: unknown): unknown[] {
  if (!isRecord(body) || !Array.isArray(body.transactions)) {
    throw new StrandError('INVALID_REQUEST', 'body must be {"transactions": [...]}');
  }
  const extra = Object.keys(body).find((k) => k !== 'transactions');
  if (extra !== undefined) throw new StrandError('INVALID_REQUEST', `${extra} is not a known field`);
  const items: unknown[] = body.transactions;
  if (items.length > MAX_BATCH) {
    throw new StrandError('BATCH_TOO_LARGE', `a batch holds at most ${MAX_BATCH} transactions, got ${items.length}`);
  }
  if (items.length === 0) throw new StrandError('INVALID_REQUEST', 'transactions is empty');
  return items;
}

export function registerTxRoutes(app: FastifyInstance, services: ApiServices, metrics: ApiMetrics): void {
  app.post<{ Body: unknown }>(
    '/v1/txs',
    {
      validatorCompiler: parsedByHandler,
      schema: {
        tags: ['transactions'],
        summary: 'Submit one signed transaction',
        body: TxBody,
        response: { 202: SubmitResponse, ...errorResponses(400, 409, 413, 415, 429, 503) },
      },
    },
    async (req, reply) => {
      const tx = txFromJson(req.body);
      const result = await services.submit(tx, { forwarded: req.headers[FORWARDED_HEADER] !== undefined });
      metrics.txsAccepted.inc();
      return reply.code(202).send({ hash: result.hash, status: result.status });
    },
  );

  app.post<{ Body: unknown }>(
    '/v1/txs/batch',
    {
      validatorCompiler: parsedByHandler,
      schema: {
        tags: ['transactions'],
        summary: `Submit up to ${MAX_BATCH} signed transactions; one result each, in order`,
        body: BatchBody,
        response: { 200: BatchResponse, ...errorResponses(400, 413, 415, 429, 503) },
      },
    },
    async (req) => {
      const parsed = parseBatch(req.body).map(parseItem);
      const toSubmit = parsed.flatMap((p) => ('tx' in p ? [p.tx] : []));
      const submitted = toSubmit.length > 0 ? await services.submitBatch(toSubmit) : [];
      if (submitted.length !== toSubmit.length) {
        throw new InvariantError(`submitBatch returned ${submitted.length} results for ${toSubmit.length} transactions`);
      }
      let next = 0;
      const results: Static<typeof BatchResponse>['results'] = parsed.map((p) => {
        if ('error' in p) {
          metrics.txsRejected.inc({ code: p.error.code });
          return { hash: null, error: p.error };
        }
        const r = submitted[next++]!;
        if (r.ok) {
          metrics.txsAccepted.inc();
          return { hash: r.hash, status: r.status };
        }
        metrics.txsRejected.inc({ code: r.error.code });
        return { hash: r.hash, error: { code: r.error.code, message: r.error.message } };
      });
      return { results };
    },
  );

  app.get<{ Params: Static<typeof HashParams> }>(
    '/v1/txs/:hash',
    {
      schema: {
        tags: ['transactions'],
        summary: 'A transaction, its status, block position and inclusion proof',
        params: HashParams,
        response: { 200: TxResponse, ...errorResponses(400, 404) },
      },
    },
    async (req) => {
      const record = services.getTx(req.params.hash.toLowerCase() as Hash);
      if (!record) throw new StrandError('NOT_FOUND', 'transaction not found');
      return txView(record);
    },
  );
}
