// The WebSocket transport on real daemons: every UDP datagram to and from site c is dropped in the wan
// (TCP still passes), as on a network that blocks UDP. a and b find UDP to c dead, dial c's ws
// endpoint (TCP, same port number), and reach c over it; a TCP transfer over the overlay completes
// intact; `overlayd status` shows the link as ws. When UDP comes back, the link moves back to UDP.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, OverlayLab } from '../lab/overlay-lab.js';
import { startTcpTransfer } from '../lab/scenarios.js';
import { blockUdp } from '../lab/udp-block.js';
import { dropsAt, dropsDiff } from '../lab/drops.js';

const skip = labSkipReason({});
/** Dead UDP endpoints are probed every 5 s at most (probe-params deadMaxIntervalMs); then a few
 *  replies confirm it, and the route's hysteresis hold (3 s) applies; the rest is a loaded machine. */
const BACK_TO_UDP_MS = 5000 + 3000 + 4000;

describe('ws transport: site c behind a network that drops all UDP', { skip }, () => {
  let ol: OverlayLab;
  let startedAt = 0;
  let block: { unblock(): Promise<void> };
  before(async () => {
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c'] });
    block = await blockUdp(ol.lab, 'c');
    startedAt = Date.now();
    ol.startAll();
  });
  after(() => closeLab(ol));

  async function link(from: string, to: string) {
    const s = await ol.status(from);
    return s.members.find((m) => m.name === to)!;
  }

  it('reaches c from a and b within 10 s of start, over a ws link', async () => {
    await ol.lab.waitFor(
      async () => {
        const [ac, bc] = await Promise.all([link('a', 'c'), link('b', 'c')]);
        return ac.reachable && bc.reachable && ac.direct?.alive && bc.direct?.alive ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'c reachable from a and b' },
    );
    const elapsed = Date.now() - startedAt;
    const ac = await link('a', 'c');
    assert.equal(ac.direct?.transport, 'ws');
    assert.match(ac.direct!.endpoint, /^ws:\/\//);
    assert.equal((await link('b', 'c')).direct?.transport, 'ws');
    assert.equal((await link('a', 'b')).direct?.transport, 'udp', 'a–b keeps UDP');
    console.log(`# c reachable over ws ${elapsed} ms after start`);
  });

  it('carries a TCP transfer a → c over the ws link with a matching sha256', async () => {
    const t0 = Date.now();
    const transfer = await startTcpTransfer(ol, 'a', 'c', {
      port: 5301,
      bytes: 20_000_000,
      name: 'ws',
      timeoutMs: 30_000,
    });
    const { sent, got } = await transfer.done;
    assert.equal(got.bytes, 20_000_000);
    assert.equal(got.sha256, sent.sha256);
    // Direct or through b, c is only reachable over ws: both of its links are.
    assert.equal((await link('a', 'c')).direct?.transport, 'ws');
    assert.equal((await link('b', 'c')).direct?.transport, 'ws');
    const path = (await ol.pathOf('a', 'c'))?.join('→');
    console.log(`# 20 MB over ws in ${Date.now() - t0} ms, path ${path}`);
  });

  it('moves back to UDP when UDP passes again', async () => {
    await block.unblock();
    const t0 = Date.now();
    await ol.lab.waitFor(
      async () => ((await link('a', 'c')).direct?.transport === 'udp' ? true : undefined),
      {
        timeoutMs: BACK_TO_UDP_MS,
        what: 'a–c back on UDP',
      },
    );
    console.log(`# a–c back on UDP ${Date.now() - t0} ms after UDP was let through`);
    const before = await dropsAt(ol, ['a', 'b', 'c']);
    const r = await ol.lab.ping('a', ol.addressOf('c'), { count: 10, intervalS: 0.2 });
    const dropped = dropsDiff(before, await dropsAt(ol, ['a', 'b', 'c']));
    console.log(`# ${r.received}/10 pings answered after the move; daemon drops meanwhile ${dropped}`);
    // Two lost echoes are tolerated (a loaded 2-core machine, links changing under the pings).
    assert.ok(r.received >= 8, `${r.received}/10 answered; daemon drops ${dropped}`);
  });
});
