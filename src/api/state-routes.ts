import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { StrandError, type Address, type Hash } from '../core/index.js';
import { AccountQuery, AccountResponse, AddressParams, BlockParams, BlockResponse, WithdrawalParams, WithdrawalResponse, errorResponses } from './schemas.js';
import type { ApiServices } from './services.js';
import { accountView, blockView } from './views.js';

export function registerStateRoutes(app: FastifyInstance, services: ApiServices): void {
  app.get<{ Params: Static<typeof AddressParams>; Querystring: Static<typeof AccountQuery> }>(
    '/v1/accounts/:address',
    {
      schema: {
        tags: ['state'],
        summary: 'Nonce and balances; ?proof=true adds sparse-Merkle proofs against the block state root',
        params: AddressParams,
        querystring: AccountQuery,
        response: { 200: AccountResponse, ...errorResponses(400, 404, 410) },
      },
    },
    async (req) => {
      const address = req.params.address.toLowerCase() as Address;
      const opts = req.query.block === undefined
        ? { proof: req.query.proof ?? false }
        : { proof: req.query.proof ?? false, block: req.query.block };
      return accountView(services.getAccount(address, opts));
    },
  );

  app.get<{ Params: Static<typeof BlockParams> }>(
    '/v1/blocks/:ref',
    {
      schema: {
        tags: ['state'],
        summary: 'A block header and its transaction hashes',
        params: BlockParams,
        response: { 200: BlockResponse, ...errorResponses(400, 404) },
      },
    },
    async (req) => {
      const ref = req.params.ref === 'latest' ? 'latest' : Number(req.params.ref);
      const block = services.getBlock(ref);
      if (!block) throw new StrandError('NOT_FOUND', `block ${req.params.ref} not found`);
      return blockView(block);
    },
  );

  app.get<{ Params: Static<typeof WithdrawalParams> }>(
    '/v1/withdrawals/:txHash',
    {
      schema: {
        tags: ['state'],
        summary: 'Where a withdrawal stands on L1, when it becomes finalizable, and the proof the portal takes',
        params: WithdrawalParams,
        response: { 200: WithdrawalResponse, ...errorResponses(400, 404, 503) },
      },
    },
    async (req) => {
      const w = await services.getWithdrawal(req.params.txHash.toLowerCase() as Hash);
      if (!w) throw new StrandError('NOT_FOUND', `no withdrawal made by transaction ${req.params.txHash}`);
      return { ...w, withdrawal: { ...w.withdrawal, amount: w.withdrawal.amount.toString() }, proof: w.proof ? { ...w.proof, siblings: [...w.proof.siblings] } : null };
    },
  );
}
