// Per member, as this node measures it: the direct link (prober), whether any path exists (router),
// and the session (session table). Labels are member names from peers.yaml: a bounded set.
//
// RTT and jitter are exported only while the direct link is alive and has answered at least once:
// the estimator keeps its last numbers after a link dies, and a dashboard showing a stale 12 ms for
// a dead link would lie. Loss is exported whenever the member is probed (1.0 on a dead link is true).
import type { Registry } from 'prom-client';
import type { NodeId } from '../identity/node-id.js';
import { collectedGauge, type Sample } from './collected.js';
import { otherMembers, type ScrapeContext } from './scrape-context.js';

type M = 'member';

export function registerMemberMetrics(registry: Registry, ctx: ScrapeContext): void {
  const { node } = ctx;
  const perMember = (value: (id: NodeId) => number | undefined) => (): Sample<M>[] => {
    const out: Sample<M>[] = [];
    for (const m of otherMembers(node)) {
      const v = value(m.id);
      if (v !== undefined && Number.isFinite(v)) out.push([{ member: m.name }, v]);
    }
    return out;
  };
  const liveLink = (id: NodeId) => {
    const l = node.prober.link(id);
    return l && l.alive && Number.isFinite(l.lastReplyAt) ? l : undefined;
  };
  const gauge = (name: string, help: string, value: (id: NodeId) => number | undefined): void => {
    collectedGauge<M>({ registry, name, help, labelNames: ['member'], read: perMember(value) });
  };

  gauge(
    'overlay_member_rtt_seconds',
    'Smoothed RTT (RFC 6298) of the direct link to the member, while alive.',
    (id) => seconds(liveLink(id)?.srttMs),
  );
  gauge(
    'overlay_member_rtt_recent_seconds',
    'Minimum of the last few RTT samples of the direct link to the member, while alive.',
    (id) => seconds(liveLink(id)?.recentRttMs),
  );
  gauge(
    'overlay_member_jitter_seconds',
    'Mean deviation of consecutive RTT samples (RFC 3550 style) of the direct link, while alive.',
    (id) => seconds(liveLink(id)?.jitterMs),
  );
  gauge(
    'overlay_member_loss_ratio',
    'Fraction of recent probes on the direct link to the member that were lost (0..1).',
    (id) => node.prober.link(id)?.lossRatio,
  );
  gauge('overlay_member_direct_up', '1 if the direct link to the member answers probes, else 0.', (id) =>
    node.prober.link(id)?.alive ? 1 : 0,
  );
  gauge(
    'overlay_member_reachable',
    '1 if this node has a path (direct or relayed) to the member, else 0.',
    (id) => (node.router.route(id) ? 1 : 0),
  );
  gauge(
    'overlay_session_established',
    '1 if an end-to-end session with the member can send, else 0.',
    (id) => (node.sessions.stats(id, ctx.now())?.established ? 1 : 0),
  );
  gauge(
    'overlay_session_age_seconds',
    'Age of the keypair used to send to the member (absent without one).',
    (id) => seconds(node.sessions.stats(id, ctx.now())?.sessionAgeMs),
  );
}

function seconds(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : ms / 1000;
}
