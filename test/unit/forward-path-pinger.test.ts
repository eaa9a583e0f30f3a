// `overlayd ping` / `trace` (src/forward/path-pinger.ts): only the pinged member's reply resolves a
// ping, and ids are random, so a member on the path can neither guess nor answer for the destination.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PathPinger } from '../../src/forward/path-pinger.js';

const C = 3;
const B = 2;

function pinger(): { p: PathPinger; ids: number[]; now: { t: number } } {
  const ids: number[] = [];
  const now = { t: 0 };
  const p = new PathPinger({ now: () => now.t }, (_dst, _relays, id) => {
    ids.push(id);
    return true;
  });
  return { p, ids, now };
}

test('a reply with the right id from another member (a relay on the path) does not resolve the ping', async () => {
  const { p, ids, now } = pinger();
  const rtt = p.ping(C, [B], 200);
  now.t = 5;
  assert.equal(p.onReply(B, ids[0], now.t), false, 'forged by the relay');
  assert.equal(await rtt, null, 'timed out: c never answered');
});

test('the pinged member’s reply resolves it with the round-trip time', async () => {
  const { p, ids, now } = pinger();
  const rtt = p.ping(C, [B], 1000);
  now.t = 42;
  assert.equal(p.onReply(C, ids[0], now.t), true);
  assert.equal(await rtt, 42);
  p.close();
});

test('ids are random, not a counter', () => {
  const { p, ids } = pinger();
  for (let i = 0; i < 200; i++) void p.ping(C, [], 1);
  p.close();
  assert.equal(new Set(ids).size, 200);
  const steps = ids.slice(1).map((id, i) => (id - ids[i]) >>> 0);
  assert.ok(steps.filter((s) => s === 1).length < 3, 'consecutive pings do not get consecutive ids');
});
