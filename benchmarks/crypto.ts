// Micro-benchmark of the session layer on one core: AEAD seal/open of 1400-byte and 64-byte packets, one
// at a time (DataKeypair: native, the OpenSSL inside Node) and in batches of 64 (the data path's
// pkt_seal_batch / pkt_open_batch), a full Noise IK handshake, and the cost of rejecting a handshake by
// mac1. libsodium (sodium-native, the same ChaCha20-Poly1305) and Node's own crypto run side by side as
// anchors: the data path uses whichever of libsodium and OpenSSL is faster here (see benchmarks/README.md).
//
//   npx tsc -p tsconfig.json && node dist/benchmarks/crypto.js
import { createCipheriv, createDecipheriv } from 'node:crypto';
import Noise from 'noise-handshake';
import curve from 'noise-curve-ed';
import sodium from 'sodium-native';
import { keyPairFromSeed } from '../src/identity/keys.js';
import { OPEN_HAS_PEER6, packetBinding } from '../src/native/packet-binding.js';
import { nodeIdFromPublicKey } from '../src/identity/node-id.js';
import { DataKeypair } from '../src/session/keypair.js';
import { INIT_BODY_BYTES } from '../src/session/handshake.js';
import { SessionTable } from '../src/session/session-table.js';
import { cookieAddress } from '../src/transport/cookie-address.js';
import { ADDRESS_BYTES, INITIAL_TTL, InnerKind, PacketType, PathFlags } from '../src/wire/constants.js';
import { writeRoutedHeader } from '../src/wire/routed-header.js';

const PAYLOAD = 1400;
const ADDR = 4; // direct route: addresses right after the 4-byte prefix

interface Row {
  name: string;
  perSecond: number;
  microseconds: number;
}

/** Runs `fn` for about `ms` milliseconds (after a warm-up) and reports its rate. */
function measure(name: string, fn: () => void, ms = 1500): Row {
  const warm = performance.now() + 200;
  while (performance.now() < warm) fn();
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 64; i++) fn();
    n += 64;
    now = performance.now();
  }
  const seconds = (now - start) / 1000;
  return { name, perSecond: n / seconds, microseconds: (seconds * 1e6) / n };
}

function keypairs(): { a: DataKeypair; b: DataKeypair } {
  const common = {
    createdAt: 0,
    rejectAfterMs: 1e12,
    rejectAfterMessages: 2 ** 53 - 2 ** 13,
    replayWindowBits: 8192,
  };
  const k1 = Buffer.alloc(32, 1);
  const k2 = Buffer.alloc(32, 2);
  return {
    a: new DataKeypair({
      ...common,
      sendKey: k1,
      receiveKey: Buffer.from(k2),
      localIndex: 1,
      remoteIndex: 2,
      isInitiator: true,
    }),
    b: new DataKeypair({
      ...common,
      sendKey: Buffer.from(k2),
      receiveKey: Buffer.from(k1),
      localIndex: 2,
      remoteIndex: 1,
      isInitiator: false,
    }),
  };
}

const rows: Row[] = [];
const payload = Buffer.alloc(PAYLOAD, 0x5a);
const buf = Buffer.alloc(2048);
buf.writeUInt32BE(11, ADDR);
buf.writeUInt32BE(22, ADDR + 4);

for (const size of [PAYLOAD, 64]) {
  const { a } = keypairs();
  const p = payload.subarray(0, size);
  rows.push(
    measure(`DataKeypair.seal ${size} B (OpenSSL)`, () => void a.seal(buf, ADDR, p, 1, PathFlags.Direct)),
  );
  const key = Buffer.alloc(32, 1);
  const nonce = Buffer.alloc(12);
  const out = Buffer.alloc(size + 16);
  const ad = buf.subarray(ADDR, ADDR + 20);
  rows.push(
    measure(`anchor: libsodium seal ${size} B (sodium-native)`, () => {
      sodium.crypto_aead_chacha20poly1305_ietf_encrypt(out, p, ad, null, nonce, key);
    }),
  );
}
{
  // The data path: 64 TUN packets of 1400 bytes sealed per call into send slots, then opened per call.
  const b = packetBinding();
  const BATCH = 64;
  const stride = 1536;
  const headroom = 64;
  const src = Buffer.alloc(stride * BATCH);
  const lengths = new Uint32Array(BATCH).fill(PAYLOAD);
  const header = Buffer.alloc(40);
  const headerLength = writeRoutedHeader(header, PacketType.Data, INITIAL_TTL, [], 11, 22);
  const out = Buffer.alloc(2048 * BATCH);
  const outLengths = new Uint32Array(BATCH);
  const { a, b: kb } = keypairs();
  const sealAll = (): number =>
    b.pkt_seal_batch(
      a.state,
      header,
      headerLength,
      src,
      stride,
      headroom,
      lengths,
      0,
      BATCH,
      InnerKind.IPPacket,
      out,
      2048,
      0,
      outLengths,
    );
  const seal = measure('batch seal 1400 B, 64 per call (per call)', () => void sealAll(), 1500);
  rows.push({
    name: 'batch seal 1400 B, 64 per call',
    perSecond: seal.perSecond * BATCH,
    microseconds: seal.microseconds / BATCH,
  });
  const offsets = Uint32Array.from({ length: BATCH }, (_, i) => i * 2048);
  const list = Uint32Array.from({ length: BATCH }, (_, i) => i);
  const results = new Int32Array(BATCH);
  const tunOffsets = new Uint32Array(BATCH);
  const tunLengths = new Uint32Array(BATCH);
  const addrs = new Uint8Array(40);
  const sealed = Buffer.from(out);
  const open = measure(
    'batch seal + open 1400 B, 64 per call (per call)',
    () => {
      sealAll();
      sealed.set(out);
      b.pkt_open_batch(
        kb.state,
        sealed,
        offsets,
        outLengths,
        list,
        BATCH,
        addrs,
        OPEN_HAS_PEER6,
        results,
        tunOffsets,
        tunLengths,
        0,
      );
    },
    1500,
  );
  rows.push({
    name: 'batch seal + open 1400 B, 64 per call',
    perSecond: open.perSecond * BATCH,
    microseconds: open.microseconds / BATCH,
  });
}
{
  const { a, b } = keypairs();
  rows.push(
    measure('DataKeypair seal + open 1400 B', () => {
      const end = a.seal(buf, ADDR, payload, 1, PathFlags.Direct);
      if (b.open(buf, ADDR, end, 1, PathFlags.Direct) !== PAYLOAD) throw new Error('open failed');
    }),
  );
}
{
  const key = Buffer.alloc(32, 1);
  const nonce = Buffer.alloc(12);
  const ad = Buffer.alloc(20);
  rows.push(
    measure('anchor: node:crypto seal 1400 B', () => {
      const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      c.setAAD(ad, { plaintextLength: PAYLOAD });
      c.update(payload);
      c.final();
      c.getAuthTag();
    }),
  );
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(ad, { plaintextLength: PAYLOAD });
  const sealed = c.update(payload);
  c.final();
  const tag = c.getAuthTag();
  rows.push(
    measure('anchor: node:crypto open 1400 B', () => {
      const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
      d.setAAD(ad, { plaintextLength: PAYLOAD });
      d.setAuthTag(tag);
      d.update(sealed);
      d.final();
    }),
  );
}

// Two tables for the table-level paths and the handshake.
const A = keyPairFromSeed(Buffer.alloc(32, 1));
const B = keyPairFromSeed(Buffer.alloc(32, 2));
const idA = nodeIdFromPublicKey(A.publicKey);
const idB = nodeIdFromPublicKey(B.publicKey);
const lots = { perSecond: 1e12, burst: 1e12 };
const unlimited = {
  rateLimit: { perKeyBurst: 1e12, perKeyPerSecond: 1e12, globalBurst: 1e12, globalPerSecond: 1e12 },
  // Never under load, no per-member cap: this measures the handshake itself, not the flood defences.
  guard: { underLoad: lots, perMember: lots },
};
const source = { address: cookieAddress({ host: '192.0.2.1', port: 7946 }), host: '192.0.2.1' };
const ta = new SessionTable({
  localKeyPair: A,
  localId: idA,
  peers: [{ id: idB, publicKey: B.publicKey }],
  params: unlimited,
});
const tb = new SessionTable({
  localKeyPair: B,
  localId: idB,
  peers: [{ id: idA, publicKey: A.publicKey }],
  params: unlimited,
});

function handshake(): void {
  const r = tb.consumeInitiation(idA, ta.createInitiation(idB, 1), source, 1);
  if (!r.ok || !ta.consumeResponse(idB, r.response, source, 1).ok) throw new Error('handshake failed');
}
rows.push(measure('full handshake (init + respond + complete)', handshake, 3000));
{
  const prologue = Buffer.from('overlayd v1');
  rows.push(
    measure(
      'anchor: bare noise-handshake IK',
      () => {
        const i = new Noise('IK', true, A, { curve });
        i.initialise(prologue, B.publicKey);
        const r = new Noise('IK', false, B, { curve });
        r.initialise(prologue);
        r.recv(Buffer.from(i.send(Buffer.alloc(12))));
        i.recv(Buffer.from(r.send()));
      },
      3000,
    ),
  );
}
{
  handshake();
  const pkt = Buffer.alloc(2048);
  const addr = writeRoutedHeader(pkt, PacketType.Data, INITIAL_TTL, [], idA, idB) - ADDRESS_BYTES;
  rows.push(
    measure('SessionTable seal + open 1400 B', () => {
      const end = ta.seal(idB, pkt, addr, payload, 2, PathFlags.Direct);
      if (tb.open(pkt, addr, end, 2, PathFlags.Direct) !== PAYLOAD) throw new Error('open failed');
    }),
  );
}
{
  const garbage = Buffer.alloc(INIT_BODY_BYTES, 7);
  rows.push(
    measure('reject initiation by mac1', () => {
      if (tb.consumeInitiation(idA, garbage, source, 3).ok) throw new Error('accepted garbage');
    }),
  );
}

const width = Math.max(...rows.map((r) => r.name.length));
console.log(`${'operation'.padEnd(width)}  ${'per second'.padStart(12)}  ${'µs each'.padStart(9)}`);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(width)}  ${Math.round(r.perSecond).toLocaleString('en-US').padStart(12)}  ${r.microseconds.toFixed(2).padStart(9)}`,
  );
}
const rate = (name: string): number => rows.find((r) => r.name.startsWith(name))?.perSecond ?? NaN;
const batch = rate('batch seal 1400 B');
console.log(
  `\nOpenSSL single seal vs libsodium, 1400 B: ${(rate('DataKeypair.seal 1400') / rate('anchor: libsodium seal 1400')).toFixed(2)}x`,
);
console.log(
  `OpenSSL single seal vs libsodium, 64 B: ${(rate('DataKeypair.seal 64') / rate('anchor: libsodium seal 64')).toFixed(2)}x`,
);
console.log(`batch seal throughput: ${((batch * PAYLOAD * 8) / 1e9).toFixed(2)} Gbit/s of payload per core`);
