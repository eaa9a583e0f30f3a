// Data-plane counters: traffic per member, drops by reason, handshakes. The packet path bumps plain
// numbers in DataPlaneCounters; nothing here runs until Prometheus scrapes.
import type { Registry } from 'prom-client';
import type { DropReason, PeerTraffic } from '../forward/counters.js';
import type { HandshakeRejectReason } from '../session/handshake-result.js';
import { collectedCounter, keysOf, type Sample } from './collected.js';
import { otherMembers, type ScrapeContext } from './scrape-context.js';

// Every reason is exported from zero: a panel of drops shows a flat line rather than "no data", and
// increase() counts the first drop of a reason too. Both sets are fixed by the code, so bounded.
const DROP_REASONS = keysOf<DropReason>({
  truncated: true,
  oversized: true,
  'too-big': true,
  'unknown-type': true,
  'bad-route': true,
  'bad-address': true,
  'not-for-member': true,
  'unauthenticated-hop': true,
  'wrong-previous-hop': true,
  misrouted: true,
  'ttl-exceeded': true,
  'route-too-long': true,
  'no-next-hop': true,
  'no-route': true,
  'no-member': true,
  'not-unicast': true,
  'not-ip': true,
  'no-session': true,
  'unknown-index': true,
  'wrong-source': true,
  'auth-failed': true,
  replayed: true,
  expired: true,
  'spoofed-source': true,
  'not-local-destination': true,
  'bad-inner': true,
  'relayed-control': true,
  'queue-delay': true,
  'socket-full': true,
  'tun-full': true,
  'tun-error': true,
  'handshake-rejected': true,
});
const HANDSHAKE_REJECT_REASONS = keysOf<HandshakeRejectReason>({
  truncated: true,
  oversized: true,
  'unknown-index': true,
  'bad-mac': true,
  'replayed-initiation': true,
  'cookie-required': true,
  'cookie-rate-limited': true,
  'cookie-filtered': true,
  'rate-limited': true,
  'relay-rate-limited': true,
  'bad-handshake': true,
  'unknown-key': true,
  'id-mismatch': true,
  'replayed-handshake': true,
  'member-rate-limited': true,
  'unsolicited-cookie': true,
  'bad-cookie': true,
});

const ZERO: PeerTraffic = {
  txPackets: 0,
  txBytes: 0,
  rxPackets: 0,
  rxBytes: 0,
  relayedPackets: 0,
  relayedBytes: 0,
};

export function registerTrafficMetrics(registry: Registry, ctx: ScrapeContext): void {
  const { node } = ctx;
  const c = node.counters;
  const perMember = (name: string, help: string, field: keyof PeerTraffic): void => {
    collectedCounter<'member'>({
      registry,
      name,
      help,
      labelNames: ['member'],
      read: () => otherMembers(node).map((m) => [{ member: m.name }, (c.peers.get(m.id) ?? ZERO)[field]]),
    });
  };
  perMember(
    'overlay_tx_bytes_total',
    'Bytes of IP packets sent to the member (inner packets, before sealing).',
    'txBytes',
  );
  perMember(
    'overlay_rx_bytes_total',
    'Bytes of IP packets received from the member and written to the TUN.',
    'rxBytes',
  );
  perMember('overlay_tx_packets_total', 'IP packets sent to the member.', 'txPackets');
  perMember('overlay_rx_packets_total', 'IP packets received from the member.', 'rxPackets');
  perMember(
    'overlay_relayed_bytes_total',
    'Bytes (sealed UDP payloads) this node relayed on behalf of the member (the source).',
    'relayedBytes',
  );
  perMember(
    'overlay_relayed_packets_total',
    'Packets this node relayed on behalf of the member (the source).',
    'relayedPackets',
  );

  collectedCounter<'reason'>({
    registry,
    name: 'overlay_rx_dropped_total',
    help: 'Packets dropped by the data plane, by reason.',
    labelNames: ['reason'],
    read: () => withZeros(DROP_REASONS, c.drops),
  });
  collectedCounter<'direction'>({
    registry,
    name: 'overlay_fast_lane_packets_total',
    help:
      'IP packets the fast lanes carried without JavaScript: sealed and sent (direction="out"), opened and ' +
      'written to the TUN (direction="in"); counted in overlay_tx/rx_packets_total too.',
    labelNames: ['direction'],
    read: () => [
      [{ direction: 'out' }, c.fastLanePackets],
      [{ direction: 'in' }, c.fastLaneReceived],
    ],
  });
  collectedCounter<never>({
    registry,
    name: 'overlay_endpoint_conflicts_total',
    help: "Authenticated packets or probe replies from a member at an underlay address proven to be another member's; the address was not rebound.",
    labelNames: [],
    read: () => [[{}, c.endpointConflicts]],
  });
  collectedCounter<'result'>({
    registry,
    name: 'overlay_handshakes_total',
    help: 'Handshakes this node initiated: initiations sent (result="sent"), answered and established (result="completed").',
    labelNames: ['result'],
    read: () => [
      [{ result: 'sent' }, c.handshakesSent],
      [{ result: 'completed' }, c.handshakesCompleted],
    ],
  });
  collectedCounter<'reason'>({
    registry,
    name: 'overlay_handshake_rejected_total',
    help: 'Handshake messages rejected by the session layer, by reason (cookie-required: answered with a cookie reply).',
    labelNames: ['reason'],
    read: () => withZeros(HANDSHAKE_REJECT_REASONS, c.handshakeRejects),
  });
  collectedCounter<'role'>({
    registry,
    name: 'overlay_handshake_dh_total',
    help: 'Handshake messages Noise (Diffie-Hellman) was run on, as responder or initiator: what a handshake flood is after.',
    labelNames: ['role'],
    read: () => {
      const s = node.sessions.handshakeStats();
      return [
        [{ role: 'responder' }, s.responderDh],
        [{ role: 'initiator' }, s.initiatorDh],
      ];
    },
  });
  collectedCounter<'direction'>({
    registry,
    name: 'overlay_handshake_cookie_replies_total',
    help: 'Cookie replies sent under load (direction="sent") and accepted for our own initiations (direction="accepted").',
    labelNames: ['direction'],
    read: () => {
      const s = node.sessions.handshakeStats();
      return [
        [{ direction: 'sent' }, s.cookieRepliesSent],
        [{ direction: 'accepted' }, s.cookiesAccepted],
      ];
    },
  });
}

/** The known reasons from zero, plus any other reason that has been counted. */
export function withZeros(known: readonly string[], counts: ReadonlyMap<string, number>): Sample<'reason'>[] {
  const out: Sample<'reason'>[] = known.map((reason) => [{ reason }, counts.get(reason) ?? 0]);
  for (const [reason, n] of counts) if (!known.includes(reason)) out.push([{ reason }, n]);
  return out;
}
