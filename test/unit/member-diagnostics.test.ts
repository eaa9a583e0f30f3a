// Per-member diagnostics driven by hand: the events polled from the prober's and the session table's
// view (endpoint learned, then changed old → new; link down with the probes lost), failures by
// reason, and a duplicate-key episode counted once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, EventLog, parseEvent } from '../../src/log.js';
import { MemberDiagnostics, POLL_MS } from '../../src/node/member-diagnostics.js';
import type { LinkView } from '../../src/probe/link-view.js';
import type { PeerSessionStats } from '../../src/session/peer-session.js';

function harness() {
  const lines: string[] = [];
  const clock = { t: 0 };
  let link: LinkView | undefined;
  let session: PeerSessionStats = { established: false, handshakeAttempts: 0 };
  const diag = new MemberDiagnostics(
    {
      members: () => [2],
      nameOf: (id) => (id === 2 ? 'b' : String(id)),
      link: () => link,
      session: () => session,
    },
    new EventLog(
      createLogger('debug', (l) => lines.push(l)),
      () => clock.t,
    ),
  );
  const step = () => diag.tick((clock.t += POLL_MS));
  const events = (name: string) => lines.map((l) => parseEvent(l)).filter((e) => e?.event === name);
  return {
    diag,
    clock,
    step,
    events,
    setLink: (l: Partial<LinkView> | undefined) => {
      link = l && {
        alive: true,
        srttMs: 5,
        recentRttMs: 5,
        lossRatio: 0,
        jitterMs: 0,
        endpointKey: 'A:1',
        lastReplyAt: 0,
        active: false,
        consecutiveLost: 0,
        ...l,
      };
    },
    setSession: (s: PeerSessionStats) => (session = s),
  };
}

test('endpoint learned, then changed old → new; link down carries the probes lost', () => {
  const h = harness();
  h.setLink({ endpointKey: '192.0.2.1:7946' });
  h.step();
  assert.equal(h.events('endpoint-learned')[0]?.fields.endpoint, '192.0.2.1:7946');
  assert.equal(h.events('link-up').length, 1);
  h.setLink({ endpointKey: '192.0.2.9:7946' });
  h.step();
  assert.deepEqual(
    { from: h.events('endpoint-changed')[0]?.fields.from, to: h.events('endpoint-changed')[0]?.fields.to },
    { from: '192.0.2.1:7946', to: '192.0.2.9:7946' },
  );
  h.setLink({ alive: false, endpointKey: '192.0.2.9:7946', consecutiveLost: 4, lossRatio: 0.5 });
  h.step();
  const down = h.events('link-down')[0];
  assert.equal(down?.fields.probes_lost, '4');
  assert.equal(down?.fields.loss, '0.5');
  h.step();
  assert.equal(h.events('link-down').length, 1, 'one line per event, not per poll');
});

test('handshake attempts without a reply count as no-reply; a completed handshake clears the last failure', () => {
  const h = harness();
  h.setSession({ established: false, handshakeAttempts: 1 });
  h.step();
  h.setSession({ established: false, handshakeAttempts: 3 });
  h.step();
  assert.equal(h.diag.failureCounts(2).get('no-reply'), 2);
  assert.equal(h.diag.lastFailure(2, h.clock.t)?.reason, 'no-reply');
  h.diag.handshakeRejected(2, 'bad-mac', h.clock.t);
  assert.equal(h.diag.lastFailure(2, h.clock.t)?.reason, 'key-rejected');
  h.diag.handshakeRejected(2, 'replayed-handshake', h.clock.t);
  assert.equal(h.diag.failureCounts(2).get('replayed'), 1);
  assert.equal(h.diag.lastFailure(2, h.clock.t)?.reason, 'key-rejected', 'a replay is no news');
  h.setSession({ established: true, handshakeAttempts: 0, lastHandshakeAt: h.clock.t + 1 });
  h.step();
  assert.equal(h.diag.lastFailure(2, h.clock.t), undefined);
  assert.equal(h.events('handshake-completed').length, 1);
  h.setSession({ established: false, handshakeAttempts: 0, lastHandshakeAt: h.clock.t - POLL_MS + 1 });
  h.step();
  assert.equal(h.events('session-expired').length, 1);
});

test('a duplicate-key episode is logged as an error once and counted once', () => {
  const h = harness();
  for (let i = 0; i < 20; i++) h.diag.dataFrom(2, i % 2 ? 'B:1' : 'A:1', i % 2 ? 22 : 11, (h.clock.t += 500));
  assert.equal(h.diag.duplicateSuspicions.get(2), 1);
  const e = h.events('duplicate-key-suspected');
  assert.equal(e.length, 1);
  assert.deepEqual(new Set(e[0]?.fields.addresses.split(',')), new Set(['A:1', 'B:1']));
  assert.ok(h.diag.duplicateKey(2, h.clock.t));
});
