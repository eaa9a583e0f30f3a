// A relay that passes small packets and drops large ones, with real daemons (issue 10, attack 6): an
// nftables rule in the relay's own namespace drops every UDP datagram longer than 400 bytes it
// receives. Its links keep answering their (small) probes, so link-state routing alone would keep the
// path forever; end-to-end path liveness must move the traffic to the other relay within 2 s, and a
// TCP transfer running across the change must complete with a matching checksum.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, type OverlayLab } from '../lab/overlay-lab.js';
import { createTwoRelayLab, startTcpTransfer } from '../lab/scenarios.js';

const skip = labSkipReason({ latency: true });

/** In the relay's own namespace: drop what it receives over UDP beyond 400 bytes (the "hostile" relay). */
const DROP_LARGE_UDP = [
  'table inet hostile {',
  '  chain in {',
  '    type filter hook input priority 0; policy accept;',
  '    udp length > 400 counter drop',
  '  }',
  '}',
].join('\n');

describe('hostile relay: passes small packets, drops large ones (4 sites)', { skip }, () => {
  let ol: OverlayLab;
  before(async () => {
    ol = await createTwoRelayLab();
  });
  after(() => closeLab(ol));

  it('moves a→c traffic to d within 2 s; the TCP transfer completes intact', async (t) => {
    // 8 Mbit/s for ~6 s: the transfer is in flight when b turns hostile at ~2 s.
    const transfer = await startTcpTransfer(ol, 'a', 'c', {
      port: 5203,
      bytes: 6_000_000,
      rateMbit: 8,
      name: 'hostile',
    });
    await new Promise((r) => setTimeout(r, 2000));
    const hostileAt = Date.now(); // before the rule exists: the delay measured below is an upper bound
    await ol.lab.execOk('b', ['nft', '-f', '-'], { input: DROP_LARGE_UDP + '\n' });
    const { sent, got } = await transfer.done;
    assert.equal(got.bytes, 6_000_000);
    assert.equal(got.sha256, sent.sha256);

    // b really was dropping: its rule counted large datagrams.
    const rules = await ol.lab.execOk('b', ['nft', 'list', 'table', 'inet', 'hostile']);
    const dropped = Number(/counter packets (\d+)/.exec(rules)?.[1] ?? 0);
    assert.ok(dropped > 0, `b dropped nothing: ${rules}`);

    const paths = await ol.paths('a');
    const moved = paths.changes.find(
      (c) => c.destination === 'c' && c.to?.join('>') === 'a>d>c' && Date.parse(c.at) >= hostileAt,
    );
    assert.ok(moved, `a never moved c to a>d>c: ${JSON.stringify(paths.changes)}`);
    const delayMs = Date.parse(moved.at) - hostileAt;
    t.diagnostic(
      `a→c moved to a→d→c ${delayMs} ms after b began dropping large packets (${dropped} dropped)`,
    );
    assert.ok(delayMs <= 2000, `moved after ${delayMs} ms`);
    assert.deepEqual(await ol.pathOf('a', 'c'), ['a', 'd', 'c'], 'and stays there during the hold');
    const log = ol.site('a').process!.readLogs();
    assert.match(log, /path to c via b fails end to end/);
    assert.equal(log.match(/fails end to end/g)?.length, 1, 'one line per failure');
  });
});
