// Shared by the tests of the native handshake load step (native/handshake-load.c) on a real socket over
// loopback: B's transport with the step on, datagrams addressed to B, and a sender on a known port.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/log.js';
import { CookieChecker } from '../../src/session/cookie-checker.js';
import { INIT_BODY_BYTES, INIT_MAC1_OFFSET } from '../../src/session/handshake.js';
import { cookieReplyKey, mac1Key, writeMac } from '../../src/session/mac.js';
import { DEFAULT_HANDSHAKE_GUARD } from '../../src/session/params.js';
import { NativeUdpTransport } from '../../src/transport/native-udp-transport.js';
import type { Endpoint, FilteredInitiations, HandshakeLoadOptions } from '../../src/transport/transport.js';
import { forEachDatagram } from '../../src/transport/transport.js';
import { INITIAL_TTL, PacketType } from '../../src/wire/constants.js';
import { routedHeaderBytes, writeRoutedHeader } from '../../src/wire/routed-header.js';
import { A, B, table, type Member } from './session-fixtures.js';

const ADDON = fileURLToPath(new URL('../../../build/Release/overlayd_udp.node', import.meta.url));
export const skip = existsSync(ADDON) ? false : 'native UDP binding not built (node-gyp rebuild)';

export const ROTATION_MS = DEFAULT_HANDSHAKE_GUARD.cookieRotationMs;

/** A datagram of `type` from A to `to` along `relays` (arrived at its end), carrying `body`. */
export function datagram(
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
export function genuine(): Buffer {
  return table(A, [B]).createInitiation(B.id, 0);
}

/** Junk a stranger who knows B's public key can make: a valid mac1 on random bytes, no mac2. */
export function forged(): Buffer {
  const body = randomBytes(INIT_BODY_BYTES);
  body.fill(0, INIT_MAC1_OFFSET + 16);
  writeMac(body, INIT_MAC1_OFFSET, mac1Key(B.keyPair.publicKey));
  return body;
}

export interface Receiver {
  t: NativeUdpTransport;
  /** What reached JS, in order. */
  got: Buffer[];
  /** Drops the step reported with the batches, by reason. */
  filtered: Map<string, number>;
  /** The cookie secrets the step reads (rotated here by the test, as the guard would). */
  cookies: CookieChecker;
}

/**
 * B's transport on 127.0.0.1. `load`: the step's parameters over B's guard defaults, or false for no
 * step at all.
 */
export async function receiver(load: Partial<HandshakeLoadOptions> | false = {}): Promise<Receiver> {
  const t = await NativeUdpTransport.open({ port: 0, host4: '127.0.0.1', host6: null, log: silentLogger });
  const got: Buffer[] = [];
  const filtered = new Map<string, number>();
  t.onBatch((b) => {
    for (const f of (b.filteredInitiations ?? []) as FilteredInitiations[])
      filtered.set(f.reason, (filtered.get(f.reason) ?? 0) + f.count);
    forEachDatagram(b, (data) => got.push(Buffer.from(data)));
  });
  const cookies = new CookieChecker(ROTATION_MS, cookieReplyKey(B.keyPair.publicKey));
  cookies.tick(0);
  if (load !== false) {
    const g = DEFAULT_HANDSHAKE_GUARD;
    t.handshakeLoad({
      self: B.id,
      mac1Key: mac1Key(B.keyPair.publicKey),
      cookieSecrets: cookies.secrets,
      underLoad: g.underLoad,
      underLoadHoldMs: g.underLoadHoldMs,
      cookiesToStrangers: g.cookiesToStrangers,
      ...load,
    });
  }
  return { t, got, filtered, cookies };
}

/** A UDP socket on 127.0.0.1 that sends datagrams to a receiver, in order. */
export class Sender {
  private constructor(
    private readonly s: dgram.Socket,
    /** Where it sends from, as the receiver sees it. */
    readonly endpoint: Endpoint,
  ) {}

  static async open(): Promise<Sender> {
    const s = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
    return new Sender(s, { host: '127.0.0.1', port: s.address().port });
  }

  /** Sends `datagrams` in order, then a marker, and waits until the marker arrived (never filtered). */
  async sendAll(port: number, datagrams: Buffer[], got: Buffer[]): Promise<void> {
    const marker = datagram(B, randomBytes(8), [], PacketType.Data);
    for (const d of [...datagrams, marker])
      await new Promise<void>((r, j) => this.s.send(d, port, '127.0.0.1', (e) => (e ? j(e) : r())));
    const deadline = Date.now() + 2000;
    while (!got.some((g) => g.equals(marker))) {
      if (Date.now() > deadline) assert.fail('the marker never arrived');
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  close(): void {
    this.s.close();
  }
}

/** Sends from a fresh socket (see Sender.sendAll). */
export async function sendAll(port: number, datagrams: Buffer[], got: Buffer[]): Promise<void> {
  const s = await Sender.open();
  try {
    await s.sendAll(port, datagrams, got);
  } finally {
    s.close();
  }
}
