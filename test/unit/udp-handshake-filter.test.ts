// The native handshake load step (native/handshake-load.c) on a real socket over loopback, not under
// load: junk and replayed initiations to us are dropped before the batch reaches JS, counted by the
// initiation guard's reasons; genuine initiations, initiations for someone else and everything else
// pass untouched. (Under load: udp-handshake-cookie-filter.test.ts.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { INIT_BODY_BYTES } from '../../src/session/handshake.js';
import { PacketType } from '../../src/wire/constants.js';
import { B, C } from './session-fixtures.js';
import { datagram, forged, genuine, receiver, sendAll, skip } from './udp-handshake-fixtures.js';

test(
  'junk, short, long and replayed initiations to us never reach JS; each is counted by reason',
  { skip },
  async () => {
    const { t, got, filtered } = await receiver();
    try {
      const real = datagram(B, genuine());
      const garbage = datagram(B, randomBytes(INIT_BODY_BYTES));
      const short = datagram(B, genuine().subarray(0, INIT_BODY_BYTES - 1));
      const long = datagram(B, Buffer.concat([genuine(), Buffer.alloc(1)]));
      const forgery = datagram(B, forged());
      await sendAll(t.port, [real, garbage, short, real, long, forgery, real, forgery], got);
      const initiations = got.filter((g) => g[0] === PacketType.HandshakeInit);
      assert.deepEqual(initiations, [real, forgery], 'the first copy of each valid-mac1 initiation, once');
      assert.deepEqual(Object.fromEntries(filtered), {
        truncated: 1,
        oversized: 1,
        'bad-mac': 1,
        'replayed-initiation': 3,
        'cookie-filtered': 0, // not under load
      });
    } finally {
      await t.close();
    }
  },
);

test(
  'without the filter every one of them reaches JS (the guard alone pays for them)',
  { skip },
  async () => {
    const { t, got } = await receiver(false);
    try {
      const real = datagram(B, genuine());
      const garbage = datagram(B, randomBytes(INIT_BODY_BYTES));
      await sendAll(t.port, [real, garbage, real], got);
      assert.equal(got.filter((g) => g[0] === PacketType.HandshakeInit).length, 3);
    } finally {
      await t.close();
    }
  },
);

test(
  'initiations for another node, relayed ones still travelling, and other packets pass untouched',
  { skip },
  async () => {
    const { t, got, filtered } = await receiver();
    try {
      const forC = datagram(C, randomBytes(INIT_BODY_BYTES)); // C's mac1 key is not ours: relay.ts decides
      const travelling = datagram(B, randomBytes(INIT_BODY_BYTES), [C.id]);
      travelling[3] = 0; // still on its way to C
      const relayedToUs = datagram(B, genuine(), [C.id]); // at the end of its route: checked like a direct one
      const relayedJunk = datagram(B, randomBytes(INIT_BODY_BYTES), [C.id]);
      const data = datagram(B, randomBytes(INIT_BODY_BYTES), [], PacketType.Data);
      await sendAll(t.port, [forC, forC, travelling, relayedToUs, relayedJunk, data, data], got);
      assert.equal(got.filter((g) => g.equals(forC)).length, 2);
      assert.equal(got.filter((g) => g.equals(travelling)).length, 1);
      assert.equal(got.filter((g) => g.equals(relayedToUs)).length, 1);
      assert.equal(got.filter((g) => g.equals(relayedJunk)).length, 0);
      assert.equal(got.filter((g) => g.equals(data)).length, 2);
      assert.equal(filtered.get('bad-mac'), 1);
    } finally {
      await t.close();
    }
  },
);
