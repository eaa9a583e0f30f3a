// The native handshake pre-filter (native/handshake-filter.c) on a real socket over loopback: junk and
// replayed initiations to us are dropped before the batch reaches JS, counted by the initiation guard's
// reasons; genuine initiations, initiations for someone else and everything else pass untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/log.js';
import { INIT_BODY_BYTES, INIT_MAC1_OFFSET } from '../../src/session/handshake.js';
import { mac1Key, writeMac } from '../../src/session/mac.js';
import { NativeUdpTransport } from '../../src/transport/native-udp-transport.js';
import type { FilteredInitiations } from '../../src/transport/transport.js';
import { forEachDatagram } from '../../src/transport/transport.js';
import { INITIAL_TTL, PacketType } from '../../src/wire/constants.js';
import { routedHeaderBytes, writeRoutedHeader } from '../../src/wire/routed-header.js';
import { A, B, C, table, type Member } from './session-fixtures.js';

const ADDON = fileURLToPath(new URL('../../../build/Release/overlayd_udp.node', import.meta.url));
const skip = existsSync(ADDON) ? false : 'native UDP binding not built (node-gyp rebuild)';

/** A datagram of `type` from A to `to` along `relays` (arrived at its end), carrying `body`. */
function datagram(
  to: Member,
  body: Buffer,
  relays: number[] = [],
  type: PacketType = PacketType.HandshakeInit,
): Buffer {
  const out = Buffer.alloc(routedHeaderBytes(relays.length) + body.length);
  const o = writeRoutedHeader(out, type, INITIAL_TTL, relays, A.id, to.id);
  out[3] = relays.length;
  body.copy(out, o);
  return out;
}

/** A genuine initiation from A to B (B's session table would run Noise on it). */
function genuine(): Buffer {
  return table(A, [B]).createInitiation(B.id, 0);
}

/** Junk a stranger who knows B's public key can make: a valid mac1 on random bytes. */
function forged(): Buffer {
  const body = randomBytes(INIT_BODY_BYTES);
  writeMac(body, INIT_MAC1_OFFSET, mac1Key(B.keyPair.publicKey));
  return body;
}

/** B's transport, filtering or not: what reached JS, and the drops reported with the batches. */
async function receiver(filter: boolean): Promise<{
  t: NativeUdpTransport;
  got: Buffer[];
  filtered: Map<string, number>;
}> {
  const t = await NativeUdpTransport.open({ port: 0, host4: '127.0.0.1', host6: null, log: silentLogger });
  const got: Buffer[] = [];
  const filtered = new Map<string, number>();
  t.onBatch((b) => {
    for (const f of (b.filteredInitiations ?? []) as FilteredInitiations[])
      filtered.set(f.reason, (filtered.get(f.reason) ?? 0) + f.count);
    forEachDatagram(b, (data) => got.push(Buffer.from(data)));
  });
  if (filter) t.filterHandshakes(B.id, mac1Key(B.keyPair.publicKey));
  return { t, got, filtered };
}

/** Sends `datagrams` in order, then a marker, and waits until the marker arrived (it is never filtered). */
async function sendAll(port: number, datagrams: Buffer[], got: Buffer[]): Promise<void> {
  const marker = datagram(B, Buffer.from('marker'), [], PacketType.Data);
  const s = dgram.createSocket('udp4');
  try {
    for (const d of [...datagrams, marker])
      await new Promise<void>((r, j) => s.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    const deadline = Date.now() + 2000;
    while (!got.some((g) => g.equals(marker))) {
      if (Date.now() > deadline) assert.fail('the marker never arrived');
      await new Promise((r) => setTimeout(r, 2));
    }
  } finally {
    s.close();
  }
}

test(
  'junk, short, long and replayed initiations to us never reach JS; each is counted by reason',
  { skip },
  async () => {
    const { t, got, filtered } = await receiver(true);
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
    const { t, got, filtered } = await receiver(true);
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
