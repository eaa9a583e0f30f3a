// Bytes by message type: what the per-node control budget is measured with, in the daemon and the
// simulator alike. Sizes are those of real sealed packets on a direct IPv4 path.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ControlTraffic,
  PROBE_WIRE_BYTES,
  sumTraffic,
  trafficDelta,
} from '../../src/node/control-traffic.js';
import { ControlKind, encodeAdvertMessage } from '../../src/routing/control-codec.js';

test('a probe is 73 bytes on the wire: 45 sealed + 28 IPv4/UDP', () => {
  assert.equal(PROBE_WIRE_BYTES, 73);
});

test('routing messages are counted by their kind, with the sealing overhead', () => {
  const t = new ControlTraffic();
  t.control(encodeAdvertMessage(new Uint8Array(100)));
  t.control(Uint8Array.from([ControlKind.Digest, 7, 0, 0]));
  t.control(Uint8Array.from([99]));
  t.probe();
  t.echo();
  assert.deepEqual(t.sent.advert, { messages: 1, bytes: 101 + 69 });
  assert.deepEqual(t.sent.digest, { messages: 1, bytes: 4 + 69 });
  assert.deepEqual(t.sent.other, { messages: 1, bytes: 1 + 69 });
  t.handshake('initiation');
  t.handshake('response');
  assert.deepEqual(t.sent.handshake, { messages: 2, bytes: 144 + 40 + 72 + 40 }); // initiation: Noise 108 + index 4 + mac1 + mac2
  assert.equal(t.totalBytes(), 170 + 73 + 70 + 73 + 73 + 184 + 112);
  const before = t.snapshot();
  t.probe();
  assert.deepEqual(trafficDelta(before, t.snapshot()).probe, { messages: 1, bytes: 73 });
  assert.equal(sumTraffic([before, t.snapshot()]).probe.messages, 3);
});
