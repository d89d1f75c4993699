import type { ConfChange, ConfState, NodeId } from './types.js';

/*
 * Membership moves one server at a time, so any two successive configurations share a voter
 * majority: no joint-consensus phase is needed. A configuration takes effect as soon as its entry
 * is in a node's log (Raft thesis 4.1), so the log, not the commit index, decides who votes.
 */

const sorted = (ids: Iterable<NodeId>): NodeId[] => [...new Set(ids)].sort((a, b) => a - b);

export function confState(voters: Iterable<NodeId>, learners: Iterable<NodeId> = []): ConfState {
  const v = sorted(voters);
  return { voters: v, learners: sorted(learners).filter((id) => !v.includes(id)) };
}

export function isMember(conf: ConfState, id: NodeId): boolean {
  return conf.voters.includes(id) || conf.learners.includes(id);
}

/** Why a change is refused against `conf`, or null when it is valid. Leaders check before proposing. */
export function confChangeError(conf: ConfState, cc: ConfChange): string | null {
  switch (cc.type) {
    case 'addLearner':
      return isMember(conf, cc.node) ? 'already a member' : null;
    case 'promote':
      return conf.learners.includes(cc.node) ? null : 'not a learner';
    case 'remove':
      if (!isMember(conf, cc.node)) return 'not a member';
      return conf.voters.length === 1 && conf.voters[0] === cc.node ? 'cannot remove the last voter' : null;
  }
}

/** Followers fold changes deterministically: an invalid change (never proposed by a correct leader) is a no-op. */
export function applyConfChange(conf: ConfState, cc: ConfChange): ConfState {
  if (confChangeError(conf, cc) !== null) return conf;
  switch (cc.type) {
    case 'addLearner':
      return confState(conf.voters, [...conf.learners, cc.node]);
    case 'promote':
      return confState([...conf.voters, cc.node], conf.learners.filter((id) => id !== cc.node));
    case 'remove':
      return confState(
        conf.voters.filter((id) => id !== cc.node),
        conf.learners.filter((id) => id !== cc.node),
      );
  }
}

export function quorum(voters: readonly NodeId[]): number {
  return Math.floor(voters.length / 2) + 1;
}
