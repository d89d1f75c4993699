import type { FastifyInstance } from 'fastify';
import { anchorViewOf, type AnchorView, type EventService } from '../events/index.js';
import { errorResponses } from './schemas.js';

/*
 * The event log's add-ons over HTTP (docs/EVENTS.md "Anchoring", "Projections"): where the log
 * is anchored on L1, and the projection runner's dead-letter queue (admin). Registered by
 * registerEventRoutes; each part answers only when the node runs it.
 */

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

/**
 * The anchor fields of GET /v1/events/{id}: `status` is `anchored` once an anchor with a tree
 * size above the event's index is confirmed on L1, with the consistency proof from that anchored
 * size to `treeSize` (the size the inclusion proof is for), so that a client holding the root
 * it read from L1 can check the event against it.
 */
export async function anchorFields(events: EventService, logIndex: number, treeSize: number): Promise<{ status: 'sequenced' | 'anchored'; anchor: Record<string, unknown> | null }> {
  const view = anchorViewOf(events);
  const rec = view?.covering(logIndex);
  if (!view || !rec) return { status: 'sequenced', anchor: null };
  const consistency =
    rec.treeSize <= treeSize ? { from: rec.treeSize, to: treeSize, proof: (await events.consistencyProof(rec.treeSize, treeSize)).proof.map(b64) } : null;
  return { status: 'anchored', anchor: { ...anchorJson(view, rec), consistency } };
}

function anchorJson(view: AnchorView, rec: NonNullable<ReturnType<AnchorView['covering']>>): Record<string, unknown> {
  return {
    treeSize: rec.treeSize,
    root: rec.root,
    l1TxHash: rec.l1TxHash,
    l1BlockNumber: rec.l1BlockNumber,
    l1ChainId: view.l1ChainId(),
    contract: view.contract,
    publisher: view.publisher,
    logId: view.logId,
  };
}

export function registerEventOpsRoutes(app: FastifyInstance, events: EventService): void {
  app.get<{ Querystring: { limit?: string } }>(
    '/v1/checkpoints/anchors',
    {
      schema: {
        tags: ['anchoring'],
        summary: 'Where the log is anchored on L1: the EventAnchor contract, the publishing account, the log id, the latest anchors and the loop’s health',
        response: errorResponses(404),
      },
    },
    async (req) => {
      const view = anchorViewOf(events);
      if (!view) return { enabled: false, anchors: [] };
      const limit = Math.min(100, Math.max(1, Number.parseInt(req.query.limit ?? '20', 10) || 20));
      return {
        enabled: true,
        contract: view.contract,
        publisher: view.publisher,
        logId: view.logId,
        l1ChainId: view.l1ChainId(),
        status: view.status(),
        anchors: view.recent(limit).map((r) => anchorJson(view, r)),
      };
    },
  );
}
