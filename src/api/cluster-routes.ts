import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { StrandError } from '../core/index.js';
import { ClusterBlocksQuery, ClusterChangeResponse, ClusterMemberBody, errorResponses } from './schemas.js';
import type { ApiServices, ClusterAdmin } from './services.js';

/*
 * Cluster operations, answered by the leader (others: 503 NOT_READY naming the leader). They
 * change who holds the chain, so an operator exposes them on a trusted network only, like the
 * Raft port itself.
 */
export function registerClusterRoutes(app: FastifyInstance, services: ApiServices): void {
  const cluster = services.cluster;
  if (!cluster) return;
  const member = { tags: ['cluster'], body: ClusterMemberBody, response: { 200: ClusterChangeResponse, ...errorResponses(400, 503) } };
  const change = (path: string, summary: string, run: (c: ClusterAdmin, b: Static<typeof ClusterMemberBody>) => Promise<{ index: number }>): void => {
    app.post<{ Body: Static<typeof ClusterMemberBody> }>(path, { schema: { ...member, summary } }, async (req) => run(cluster, req.body));
  };
  change('/v1/cluster/learners', 'Add a non-voting member that catches up ({id, raft})', (c, b) => {
    if (!b.raft) throw new StrandError('INVALID_REQUEST', 'raft (host:port) is required');
    return c.addLearner(b.id, b.raft);
  });
  change('/v1/cluster/promote', 'Promote a caught-up learner to voter ({id})', (c, b) => c.promote(b.id));
  change('/v1/cluster/remove', 'Remove a member ({id})', (c, b) => c.remove(b.id));
  app.post<{ Body: Static<typeof ClusterMemberBody> }>(
    '/v1/cluster/transfer',
    { schema: { tags: ['cluster'], summary: 'Hand leadership to member {id} (before restarting the leader)', body: ClusterMemberBody, response: { 200: ClusterChangeResponse, ...errorResponses(400, 503) } } },
    async (req) => {
      await cluster.transferLeadership(req.body.id);
      return { index: 0 };
    },
  );
  app.get<{ Querystring: Static<typeof ClusterBlocksQuery> }>(
    '/v1/cluster/blocks',
    { schema: { tags: ['cluster'], summary: 'Encoded blocks (u32 length + block, repeated) for a member installing a snapshot', querystring: ClusterBlocksQuery } },
    async (req, reply) => {
      const blocks = cluster.encodedBlocks(req.query.from, req.query.count);
      const parts: Buffer[] = [];
      for (const b of blocks) {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(b.length);
        parts.push(len, Buffer.from(b));
      }
      return reply.type('application/octet-stream').send(Buffer.concat(parts));
    },
  );
}
