// The native UDP transport (recvmmsg/sendmmsg binding) over loopback: no root, no namespaces.
// Skipped if the addon is not built (node-gyp). Every transport a test opens is closed by it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isOverlayError } from '../../src/errors.js';
import { silentLogger, type Logger } from '../../src/log.js';
import {
  NativeUdpTransport,
  type NativeUdpTransportOptions,
} from '../../src/transport/native-udp-transport.js';
import { forEachDatagram, type Endpoint } from '../../src/transport/transport.js';

const ADDON = fileURLToPath(new URL('../../../build/Release/overlayd_udp.node', import.meta.url));
const skip = existsSync(ADDON) ? false : 'native UDP binding not built (node-gyp rebuild)';
const hasV6Loopback = Object.values(networkInterfaces()).some((list) =>
  (list ?? []).some((a) => a.family === 'IPv6' && a.address === '::1'),
);
const skip6 = skip || (hasV6Loopback ? false : 'no ::1 on this host');

interface Received {
  data: Buffer;
  from: Endpoint;
}

/** A transport on loopback that records copies of what it receives. */
async function open(
  opts: Partial<NativeUdpTransportOptions> = {},
): Promise<{ t: NativeUdpTransport; got: Received[] }> {
  const t = await NativeUdpTransport.open({
    port: 0,
    host4: '127.0.0.1',
    host6: '::1',
    log: silentLogger,
    ...opts,
  });
  const got: Received[] = [];
  t.onBatch((b) => forEachDatagram(b, (data, from) => got.push({ data: Buffer.from(data), from })));
  return { t, got };
}

/** Resolves when `done()` holds; fails after `ms`. Polls on timers so the sockets get their turn. */
async function until(done: () => boolean, ms = 2000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Lets the event loop spin for a while (to show that something does NOT arrive). */
const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms));

test(
  'IPv4: two transports exchange datagrams both ways; the source is host and bound port',
  { skip },
  async () => {
    const a = await open();
    const b = await open();
    try {
      a.t.send(Buffer.from('ping'), { host: '127.0.0.1', port: b.t.port });
      await until(() => b.got.length === 1, 2000, 'a → b');
      assert.equal(b.got[0].data.toString(), 'ping');
      assert.deepEqual(b.got[0].from, { host: '127.0.0.1', port: a.t.port });
      b.t.send(Buffer.from('pong'), b.got[0].from); // reply to the endpoint object we were given
      await until(() => a.got.length === 1, 2000, 'b → a');
      assert.equal(a.got[0].data.toString(), 'pong');
      assert.deepEqual(a.got[0].from, { host: '127.0.0.1', port: b.t.port });
      assert.equal(a.t.counters.datagramsSent, 1);
      assert.equal(b.t.counters.datagramsReceived, 1);
    } finally {
      await Promise.all([a.t.close(), b.t.close()]);
    }
  },
);

test(
  'IPv6 (::1): two transports exchange datagrams both ways, queued and direct',
  { skip: skip6 },
  async () => {
    const a = await open();
    const b = await open();
    try {
      a.t.sendQueued(Buffer.from('ping6'), { host: '::1', port: b.t.port });
      a.t.flush();
      await until(() => b.got.length === 1, 2000, 'a → b over IPv6');
      assert.equal(b.got[0].data.toString(), 'ping6');
      assert.deepEqual(b.got[0].from, { host: '::1', port: a.t.port });
      b.t.send(Buffer.from('pong6'), b.got[0].from);
      await until(() => a.got.length === 1, 2000, 'b → a over IPv6');
      assert.equal(a.got[0].data.toString(), 'pong6');
      assert.deepEqual(a.got[0].from, { host: '::1', port: b.t.port });
    } finally {
      await Promise.all([a.t.close(), b.t.close()]);
    }
  },
);

test(
  '1000 queued datagrams of 1400 bytes, one flush: all arrive, intact and in order',
  { skip },
  async () => {
    const a = await open({ sendSlots: 1000, bufferBytes: 16 << 20 });
    // No standing-delay control: on a busy machine the burst may wait long enough in the queue to be
    // dropped by it, which is right for a daemon and not what this test is about.
    const b = await open({ bufferBytes: 16 << 20, standingDelay: false });
    try {
      // The receiver cannot read while flush() runs, so the burst must fit its socket buffer: on loopback a
      // 1400-byte datagram costs ~2.1 KiB of it. As root (SO_RCVBUFFORCE) or with net.core.rmem_max >= 2 MiB
      // the whole burst is one flush; below that, flush in the largest bursts that fit and wait in between,
      // which still proves that nothing is lost (loopback never drops with room in the buffer).
      const perFlush = Math.min(1000, Math.floor(b.t.receiveBufferBytes / 2560));
      assert.ok(perFlush >= 32, `receive buffer too small for the test: ${b.t.receiveBufferBytes}`);
      const to = { host: '127.0.0.1', port: b.t.port };
      const packet = Buffer.alloc(1400);
      for (let sent = 0; sent < 1000;) {
        const burst = Math.min(perFlush, 1000 - sent);
        for (let i = 0; i < burst; i++, sent++) {
          packet.fill(sent & 0xff);
          packet.writeUInt32BE(sent, 0);
          a.t.sendQueued(packet, to); // copied: reusing `packet` at once is allowed
        }
        a.t.flush();
        await until(() => b.got.length === sent, 5000, `${sent} datagrams (got ${b.got.length})`);
      }
      assert.equal(b.got.length, 1000);
      b.got.forEach((r, i) => {
        assert.equal(r.data.length, 1400);
        assert.equal(r.data.readUInt32BE(0), i, 'order');
        assert.equal(r.data[1399], i & 0xff, 'payload');
      });
      assert.equal(a.t.counters.datagramsSent, 1000);
      assert.equal(a.t.counters.sendDropped, 0);
      assert.equal(a.t.counters.sendErrors, 0);
    } finally {
      await Promise.all([a.t.close(), b.t.close()]);
    }
  },
);

test(
  'queued datagrams leave on the next tick without flush(); send() goes after what is queued',
  { skip },
  async () => {
    const a = await open();
    const b = await open();
    try {
      const to = { host: '127.0.0.1', port: b.t.port };
      a.t.sendQueued(Buffer.from('1'), to);
      a.t.sendQueued(Buffer.from('2'), to);
      a.t.send(Buffer.from('3'), to);
      a.t.sendQueued(Buffer.from('4'), to); // no flush: the nextTick backstop sends it
      await until(() => b.got.length === 4, 2000, 'four datagrams');
      assert.deepEqual(
        b.got.map((r) => r.data.toString()),
        ['1', '2', '3', '4'],
      );
    } finally {
      await Promise.all([a.t.close(), b.t.close()]);
    }
  },
);

test(
  'GSO/GRO: a run of equal-size datagrams to one address leaves as one send, a shorter last one too, ' +
    'and arrives split, intact and in order; mixed sizes and addresses still go',
  { skip },
  async () => {
    const a = await open();
    const b = await open();
    const c = await open();
    try {
      assert.equal(a.t.offloads, true, 'this kernel has UDP GSO/GRO');
      const toB = { host: '127.0.0.1', port: b.t.port };
      const toC = { host: '127.0.0.1', port: c.t.port };
      // Seal-in-place style: reserve slots, write, commit. 40 × 1200 bytes then a 300-byte tail.
      const slots = a.t.reserve(toB, 41)!;
      assert.equal(slots.count, 41);
      for (let k = 0; k < 41; k++) {
        const at = (slots.first + k) * slots.slotSize;
        const len = k === 40 ? 300 : 1200;
        slots.buffer.fill(k, at, at + len);
        slots.lengths[slots.first + k] = len;
      }
      a.t.commit(41);
      a.t.sendQueued(Buffer.alloc(50, 0xcc), toC); // another address: its own message
      a.t.sendQueued(Buffer.alloc(900, 0xdd), toB); // a different size after the tail: its own message
      a.t.flush();
      await until(() => b.got.length === 42 && c.got.length === 1, 3000, 'all datagrams');
      assert.deepEqual(
        b.got.map((r) => [r.data.length, r.data[0]]),
        [...Array.from({ length: 40 }, (_, k) => [1200, k]), [300, 40], [900, 0xdd]],
      );
      assert.equal(c.got[0]!.data.length, 50);
      assert.ok(a.t.counters.gsoSends >= 1, `gsoSends=${a.t.counters.gsoSends}`);
      assert.equal(a.t.counters.datagramsSent, 43);
    } finally {
      await Promise.all([a.t.close(), b.t.close(), c.t.close()]);
    }
  },
);

test('with offloads off every datagram is its own message', { skip }, async () => {
  const a = await open({ offloads: false });
  const b = await open({ offloads: false });
  try {
    assert.equal(a.t.offloads, false);
    const to = { host: '127.0.0.1', port: b.t.port };
    for (let i = 0; i < 20; i++) a.t.sendQueued(Buffer.alloc(1000, i), to);
    a.t.flush();
    await until(() => b.got.length === 20, 3000, '20 datagrams');
    assert.equal(a.t.counters.gsoSends, 0);
    assert.deepEqual(
      b.got.map((r) => r.data[999]),
      Array.from({ length: 20 }, (_, i) => i),
    );
  } finally {
    await Promise.all([a.t.close(), b.t.close()]);
  }
});

test(
  'with GRO on, small datagrams from many sources are read many per recvmmsg, and none is cut',
  { skip },
  async () => {
    // A flood of small datagrams from spoofed sources is not coalesced: each is a receive of its own. Read
    // only 4 receives per call (what the datagram list could take if each were a full GRO receive), it
    // cost a syscall per 3-4 datagrams; read for the datagrams per receive seen lately, it costs one per 16.
    const b = await open();
    const senders = await Promise.all(
      Array.from({ length: 64 }, async () => {
        const s = dgram.createSocket('udp4');
        await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
        return s;
      }),
    );
    try {
      if (!b.t.offloads) return; // a kernel without UDP_GRO: nothing to show
      const before = b.t.counters.receiveCalls;
      // One synchronous loop: libuv sends each at once, and the transport reads only after it.
      senders.forEach((s, i) => s.send(Buffer.alloc(100, i), b.t.port, '127.0.0.1'));
      await until(() => b.got.length === 64, 3000, '64 datagrams');
      const calls = b.t.counters.receiveCalls - before;
      assert.ok(calls <= 8, `64 datagrams took ${calls} recvmmsg calls`);
      assert.deepEqual(
        b.got.map((r) => r.data[0]).sort((x, y) => x! - y!),
        Array.from({ length: 64 }, (_, i) => i),
      );
      assert.equal(b.t.counters.receiveTruncated, 0);
    } finally {
      for (const s of senders) s.close();
      await b.t.close();
    }
  },
);

test('datagrams a full receive queue dropped are counted (SO_RXQ_OVFL)', { skip }, async () => {
  // A small receive buffer and a burst sent while the receiver cannot run: the kernel drops the excess.
  const a = await open({ offloads: false, sendSlots: 512 });
  const b = await open({ offloads: false, bufferBytes: 16 * 1024 });
  try {
    const to = { host: '127.0.0.1', port: b.t.port };
    for (let i = 0; i < 500; i++) a.t.sendQueued(Buffer.alloc(1000, 1), to);
    a.t.flush();
    await until(() => b.got.length > 0, 3000, 'the first datagrams');
    await settle();
    a.t.sendQueued(Buffer.alloc(10), to); // one more receive carries the latest drop count
    await until(() => b.got.at(-1)?.data.length === 10, 3000, 'the last datagram');
    assert.ok(b.t.counters.receiveQueueDrops > 0, 'the burst overflowed the queue');
    assert.equal(b.got.length - 1 + b.t.counters.receiveQueueDrops, 500, 'received + dropped = sent');
  } finally {
    await Promise.all([a.t.close(), b.t.close()]);
  }
});

/** Blocks the event loop (the receiver cannot read) for `ms`. */
function blockFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/**
 * Rounds of 20 bulk (1200 B) and 5 small (100 B) datagrams a → b, each left waiting in b's queue for
 * `waitMs` before b may read them. Returns what b's handler saw, and how many of each were marked.
 */
async function standingQueue(
  b: NativeUdpTransport,
  a: NativeUdpTransport,
  rounds: number,
  waitMs: number,
): Promise<{ big: number; small: number; bigMarked: number; smallMarked: number }> {
  const seen = { big: 0, small: 0, bigMarked: 0, smallMarked: 0 };
  b.onBatch((batch) => {
    for (let i = 0; i < batch.count; i++) {
      const big = batch.lengths[i]! > 1000;
      const marked = batch.shed?.[i] === 1;
      if (big) seen.big++;
      else seen.small++;
      if (marked && big) seen.bigMarked++;
      if (marked && !big) seen.smallMarked++;
    }
  });
  const to = { host: '127.0.0.1', port: b.port };
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 25; i++) a.sendQueued(Buffer.alloc(i % 5 === 4 ? 100 : 1200, r), to);
    a.flush();
    blockFor(waitMs);
    await settle(1);
  }
  await until(() => seen.big + seen.small === rounds * 25, 3000, 'every datagram');
  return seen;
}

const CODEL = { targetMs: 1, intervalMs: 5, minDropBytes: 1000 };

test(
  'a standing wait in the receive queue: bulk datagrams are marked for the data plane, small ones never; all are handed on',
  { skip },
  async () => {
    const a = await open({ offloads: false, sendSlots: 512 });
    const b = await open({ offloads: false, standingDelay: CODEL });
    try {
      // Every receive waits 8 ms in the queue (kernel timestamps): above target for more than an interval.
      const seen = await standingQueue(b.t, a.t, 8, 8);
      // Marked, not dropped: a sealed path probe is as big as data, and only the data plane can tell.
      assert.equal(seen.big, 8 * 20, 'every bulk datagram handed on');
      assert.equal(seen.small, 8 * 5, 'every small datagram handed on');
      assert.ok(seen.bigMarked >= 3, `${seen.bigMarked} marked`);
      assert.equal(seen.smallMarked, 0, 'small datagrams are never marked');
      assert.equal(b.t.counters.receiveDelayMarked, seen.bigMarked);
    } finally {
      await Promise.all([a.t.close(), b.t.close()]);
    }
  },
);

test('without a standing wait, or with the control off, nothing is marked', { skip }, async () => {
  const a = await open({ offloads: false, sendSlots: 512 });
  const fresh = await open({ offloads: false, standingDelay: CODEL });
  const off = await open({ offloads: false, standingDelay: false });
  try {
    const none = { big: 8 * 20, small: 8 * 5, bigMarked: 0, smallMarked: 0 };
    const quick = await standingQueue(fresh.t, a.t, 8, 0);
    assert.deepEqual(quick, none);
    const slow = await standingQueue(off.t, a.t, 8, 8);
    assert.deepEqual(slow, none);
    assert.equal(off.t.counters.receiveDelayMarked, 0);
  } finally {
    await Promise.all([a.t.close(), fresh.t.close(), off.t.close()]);
  }
});

test(
  'an empty datagram is delivered (as one of length 0) between others, so the data plane counts it',
  { skip },
  async () => {
    for (const offloads of [true, false]) {
      const a = await open({ offloads });
      const b = await open({ offloads });
      try {
        const to = { host: '127.0.0.1', port: b.t.port };
        for (const n of [3, 0, 5]) a.t.sendQueued(Buffer.alloc(n, 7), to);
        a.t.flush();
        await until(() => b.got.length === 3, 2000, `3 datagrams (offloads ${offloads})`);
        assert.deepEqual(
          b.got.map((r) => r.data.length),
          [3, 0, 5],
        );
      } finally {
        await Promise.all([a.t.close(), b.t.close()]);
      }
    }
  },
);

test('repeated sources are reported with the same frozen Endpoint object', { skip }, async () => {
  const a = await open();
  const c = await open();
  const b = await open();
  try {
    const to = { host: '127.0.0.1', port: b.t.port };
    for (let i = 0; i < 3; i++) a.t.send(Buffer.from([i]), to);
    c.t.send(Buffer.from([9]), to);
    await until(() => b.got.length === 4, 2000, 'four datagrams');
    const fromA = b.got.filter((r) => r.from.port === a.t.port).map((r) => r.from);
    const fromC = b.got.find((r) => r.from.port === c.t.port)?.from;
    assert.equal(fromA.length, 3);
    assert.ok(fromA[0] === fromA[1] && fromA[1] === fromA[2], 'the same object for the same source');
    assert.notEqual(fromC, fromA[0]);
    assert.deepEqual(fromC, { host: '127.0.0.1', port: c.t.port });
    assert.ok(Object.isFrozen(fromA[0]), 'shared endpoints cannot be changed by a handler');
  } finally {
    await Promise.all([a.t.close(), b.t.close(), c.t.close()]);
  }
});

test(
  'received data is BORROWED: a view kept without copying is overwritten by a later datagram',
  { skip },
  async () => {
    const a = await open();
    const b = await NativeUdpTransport.open({ port: 0, host4: '127.0.0.1', host6: null, log: silentLogger });
    try {
      const kept: Buffer[] = [];
      const copies: Buffer[] = [];
      b.onBatch((batch) =>
        forEachDatagram(batch, (data) => {
          kept.push(data); // WRONG: the contract forbids keeping a view past the handler
          copies.push(Buffer.from(data)); // right: a copy
        }),
      );
      const to = { host: '127.0.0.1', port: b.port };
      a.t.send(Buffer.from('first datagram'), to);
      await until(() => kept.length === 1, 2000, 'first');
      assert.equal(kept[0].toString(), 'first datagram', 'valid while the handler ran');
      a.t.send(Buffer.from('SECOND DATAGRAM'), to);
      await until(() => kept.length === 2, 2000, 'second');
      // Both land in slot 0 of the receive buffer: the first view now shows the second datagram's bytes.
      assert.equal(kept[0].buffer, kept[1].buffer, 'views into the same reused memory');
      assert.equal(kept[0].toString(), 'SECOND DATAGRA', 'the kept view was overwritten');
      assert.equal(copies[0].toString(), 'first datagram', 'the copy is intact');
    } finally {
      await Promise.all([a.t.close(), b.close()]);
    }
  },
);

test(
  'a datagram bigger than a slot is dropped and counted as truncated, never delivered cut',
  { skip },
  async () => {
    const a = await open();
    // Without GRO: with it, a receive slot holds 64 kB whatever the send slots are.
    const b = await open({ slotSize: 256, offloads: false });
    let oversized = 0;
    b.t.onOversized(() => oversized++);
    try {
      const to = { host: '127.0.0.1', port: b.t.port };
      a.t.send(Buffer.alloc(300, 1), to);
      a.t.send(Buffer.alloc(256, 2), to); // exactly a slot: fine
      await until(() => b.got.length === 1, 2000, 'the datagram that fits');
      await settle();
      assert.equal(b.got.length, 1);
      assert.equal(b.got[0].data.length, 256);
      assert.equal(b.got[0].data[0], 2);
      assert.equal(b.t.counters.receiveTruncated, 1);
      assert.equal(oversized, 1, 'reported, so the data plane counts it as dropped');
      assert.equal(b.t.counters.datagramsReceived, 2);
    } finally {
      await Promise.all([a.t.close(), b.t.close()]);
    }
  },
);

test('a datagram bigger than a send slot is sent directly, in order', { skip }, async () => {
  const a = await open({ slotSize: 256 });
  const b = await open();
  try {
    const to = { host: '127.0.0.1', port: b.t.port };
    a.t.sendQueued(Buffer.alloc(10, 1), to);
    a.t.sendQueued(Buffer.alloc(1000, 2), to);
    a.t.flush();
    await until(() => b.got.length === 2, 2000, 'both');
    assert.deepEqual(
      b.got.map((r) => [r.data.length, r.data[0]]),
      [
        [10, 1],
        [1000, 2],
      ],
    );
  } finally {
    await Promise.all([a.t.close(), b.t.close()]);
  }
});

test('a flood the handler cannot keep up with does not starve timers', { skip }, async () => {
  // The receiver spends ~20 µs per datagram, slower than the flooder (a child process) sends: the socket
  // never drains. Native reads at most 16 batches per wakeup, then returns to the event loop, so a 5 ms
  // interval timer keeps ticking; reading until EAGAIN would block the loop for the whole flood.
  const b = await open();
  let handled = 0;
  b.t.onBatch((batch) => {
    for (let i = 0; i < batch.count; i++) {
      handled++;
      const until = performance.now() + 0.02;
      while (performance.now() < until);
    }
  });
  const modules = {
    transport: new URL('../../src/transport/native-udp-transport.js', import.meta.url).href,
    log: new URL('../../src/log.js', import.meta.url).href,
  };
  const script = `
    const { NativeUdpTransport } = await import(${JSON.stringify(modules.transport)});
    const { silentLogger: log } = await import(${JSON.stringify(modules.log)});
    const a = await NativeUdpTransport.open({ port: 0, host4: '127.0.0.1', host6: null, log });
    const to = { host: '127.0.0.1', port: ${b.t.port} };
    const payload = Buffer.alloc(200);
    const end = Date.now() + 1000;
    while (Date.now() < end) { for (let i = 0; i < 64; i++) a.sendQueued(payload, to); a.flush(); }
    await a.close();
  `;
  let ticks = 0;
  let last = performance.now();
  let worstGap = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worstGap = Math.max(worstGap, now - last);
    last = now;
    ticks++;
  }, 5);
  try {
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
    await until(() => b.t.counters.datagramsReceived > 0);
    assert.ok(handled > 1000, `the flood reached the handler (${handled})`);
    assert.ok(ticks >= 20, `the timer ran during the flood (${ticks} ticks)`);
    assert.ok(worstGap < 300, `the event loop was blocked for ${worstGap.toFixed(0)} ms`);
  } finally {
    clearInterval(timer);
    await b.t.close();
  }
});

test('as root, the receive buffer may exceed net.core.rmem_max (SO_RCVBUFFORCE)', { skip }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs CAP_NET_ADMIN');
  const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  const a = await open({ bufferBytes: 2 * rmemMax });
  try {
    // The kernel reports twice what it grants (bookkeeping overhead): 4 × rmem_max, not 2 × rmem_max.
    assert.equal(a.t.receiveBufferBytes, 4 * rmemMax);
  } finally {
    await a.t.close();
  }
});

test('binding a port in use fails with OverlayError ERR_TRANSPORT naming the port', { skip }, async () => {
  const a = await open();
  try {
    await assert.rejects(
      NativeUdpTransport.open({ port: a.t.port, host4: '127.0.0.1', log: silentLogger }),
      (err) => {
        assert.ok(isOverlayError(err, 'ERR_TRANSPORT'));
        assert.match(err.message, new RegExp(`port ${a.t.port}\\b`));
        assert.match(err.message, /EADDRINUSE/);
        assert.equal((err.cause as NodeJS.ErrnoException).code, 'EADDRINUSE');
        return true;
      },
    );
  } finally {
    await a.t.close();
  }
});

test('without IPv6 it continues over IPv4 with a warning; sends to IPv6 are counted', { skip }, async () => {
  const warnings: string[] = [];
  const log: Logger = { ...silentLogger, warn: (m) => warnings.push(m), child: () => log };
  // 2001:db8::/32 is documentation space: never an address of this host, so the IPv6 bind fails.
  const t = await NativeUdpTransport.open({ port: 0, host4: '127.0.0.1', host6: '2001:db8::1', log });
  try {
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /IPv6 underlay unavailable.*EADDRNOTAVAIL/);
    t.send(Buffer.from('x'), { host: '::1', port: 9 });
    t.sendQueued(Buffer.from('x'), { host: '::1', port: 9 });
    assert.equal(t.counters.sendErrors, 2);
    assert.equal(t.counters.lastSendError, 'no IPv6 socket');
  } finally {
    await t.close();
  }
});

test('close() twice is safe and frees the port at once', { skip }, async () => {
  const a = await open();
  const port = a.t.port;
  const first = a.t.close();
  const second = a.t.close();
  assert.equal(first, second);
  await first;
  await a.t.close();
  // The fds are closed once close() resolves: the same port binds again at once.
  const again = await NativeUdpTransport.open({ port, host4: '127.0.0.1', host6: '::1', log: silentLogger });
  assert.equal(again.port, port);
  await again.close();
});

test('a process that opened, used and closed transports exits on its own', { skip }, async () => {
  const modules = {
    transport: new URL('../../src/transport/native-udp-transport.js', import.meta.url).href,
    log: new URL('../../src/log.js', import.meta.url).href,
  };
  const script = `
    const { NativeUdpTransport } = await import(${JSON.stringify(modules.transport)});
    const { silentLogger: log } = await import(${JSON.stringify(modules.log)});
    const a = await NativeUdpTransport.open({ port: 0, host4: '127.0.0.1', host6: '::1', log });
    const b = await NativeUdpTransport.open({ port: 0, host4: '127.0.0.1', host6: '::1', log });
    b.onBatch(() => { void a.close(); void b.close(); });
    a.sendQueued(Buffer.from('bye'), { host: '127.0.0.1', port: b.port });
  `;
  const started = Date.now();
  const { code, signal } = await new Promise<{ code: number | null; signal: string | null }>((resolve) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 10_000 });
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  assert.equal(signal, null, 'killed by the timeout: something kept the event loop alive');
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 10_000);
});

test('sending after close (or to a host name) is counted, never thrown', { skip }, async () => {
  const a = await open();
  const b = await open();
  const to = { host: '127.0.0.1', port: b.t.port };
  a.t.send(Buffer.from('x'), { host: 'localhost', port: b.t.port });
  assert.equal(a.t.counters.sendErrors, 1);
  assert.equal(a.t.counters.lastSendError, 'EINVAL');
  await a.t.close();
  assert.doesNotThrow(() => {
    a.t.send(Buffer.from('late'), to);
    a.t.sendQueued(Buffer.from('late'), to);
    a.t.flush();
  });
  assert.equal(a.t.counters.sendErrors, 3);
  assert.equal(a.t.counters.lastSendError, 'EBADF');
  await settle();
  assert.equal(b.got.length, 0);
  await b.t.close();
});

test('datagrams queued before close() are sent by it', { skip }, async () => {
  const a = await open();
  const b = await open();
  try {
    a.t.sendQueued(Buffer.from('last words'), { host: '127.0.0.1', port: b.t.port });
    await a.t.close();
    await until(() => b.got.length === 1, 2000, 'the queued datagram');
  } finally {
    await b.t.close();
  }
});

for (const [family, host] of [
  ['IPv4', '127.0.0.1'],
  ['IPv6', '::1'],
] as const) {
  test(
    `${family}: ICMP port unreachable is counted and receiving goes on`,
    { skip: family === 'IPv6' ? skip6 : skip },
    async () => {
      // IP_RECVERR makes the kernel report the ICMP error on this unconnected socket: POLLERR (which stops
      // a libuv poll handle), then ECONNREFUSED on the next recv. Both must be absorbed.
      const a = await open({ reportIcmpErrors: true });
      const b = await open();
      try {
        // A port nobody listens on: bind one, note it, close it.
        const probe = dgram.createSocket(family === 'IPv4' ? 'udp4' : 'udp6');
        await new Promise<void>((r) => probe.bind(0, host, r));
        const dead = probe.address().port;
        await new Promise<void>((r) => probe.close(() => r()));

        for (let round = 0; round < 3; round++) {
          a.t.send(Buffer.from('to nobody'), { host, port: dead });
          await until(() => a.t.counters.receiveErrors > round, 2000, `ICMP error ${round + 1}`);
          b.t.send(Buffer.from(`still there ${round}`), { host, port: a.t.port });
          await until(() => a.got.length === round + 1, 2000, `datagram after ICMP error ${round + 1}`);
        }
        assert.equal(a.t.counters.lastReceiveError, 'ECONNREFUSED');
        assert.deepEqual(
          a.got.map((r) => r.data.toString()),
          ['still there 0', 'still there 1', 'still there 2'],
        );
      } finally {
        await Promise.all([a.t.close(), b.t.close()]);
      }
    },
  );
}
