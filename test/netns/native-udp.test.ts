// The native UDP transport against a real, slow link: two network namespaces joined by a veth pair whose
// sending side is shaped to 1 Mbit/s. A burst bigger than the small send buffer fills it (the qdisc holds
// the datagrams), so sendmmsg hits EAGAIN: the transport must drop and count, never throw or block.
// Root only. Everything runs inside namespaces this file creates and deletes (names unique per run).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ADDON = fileURLToPath(new URL('../../../build/Release/overlayd_udp.node', import.meta.url));
const TRANSPORT = new URL('../../src/transport/native-udp-transport.js', import.meta.url).href;
const LOG = new URL('../../src/log.js', import.meta.url).href;

const skip =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !existsSync(ADDON)
      ? 'native UDP binding not built (node-gyp rebuild)'
      : false;

const id = randomBytes(3).toString('hex');
const nsA = `udpA-${id}`;
const nsB = `udpB-${id}`;

/** Runs a module script with node inside namespace `ns`; returns its last stdout line parsed as JSON. */
async function nodeIn(ns: string, script: string): Promise<Record<string, unknown>> {
  const { stdout } = await run(
    'ip',
    ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', script],
    {
      timeout: 20_000,
    },
  );
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;
}

describe('native UDP transport over a shaped veth link', { skip }, () => {
  before(async () => {
    await run('ip', ['netns', 'add', nsA]);
    await run('ip', ['netns', 'add', nsB]);
    await run('ip', ['-n', nsA, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', nsB]);
    await run('ip', ['-n', nsA, 'addr', 'add', '10.97.0.1/24', 'dev', 'va']);
    await run('ip', ['-n', nsB, 'addr', 'add', '10.97.0.2/24', 'dev', 'vb']);
    // An IPv6 source whose canonical text needs RFC 5952 care (the longer zero run is compressed).
    await run('ip', ['-n', nsA, 'addr', 'add', 'fd97::1:0:0:1/64', 'dev', 'va', 'nodad']);
    await run('ip', ['-n', nsB, 'addr', 'add', 'fd97::2/64', 'dev', 'vb', 'nodad']);
    await run('ip', ['-n', nsA, 'link', 'set', 'va', 'up']);
    await run('ip', ['-n', nsB, 'link', 'set', 'vb', 'up']);
    // A slow link with a deep queue: the qdisc holds datagrams long enough for the socket buffer to fill.
    await run('tc', [
      '-n',
      nsA,
      'qdisc',
      'add',
      'dev',
      'va',
      'root',
      'tbf',
      'rate',
      '1mbit',
      'burst',
      '4kb',
      'limit',
      '4mb',
    ]);
  });

  after(async () => {
    await run('ip', ['netns', 'del', nsA]).catch(() => {});
    await run('ip', ['netns', 'del', nsB]).catch(() => {});
  });

  test('a burst beyond the send buffer is dropped and counted as EAGAIN, nothing thrown', async () => {
    const result = await nodeIn(
      nsA,
      `
      const { NativeUdpTransport } = await import(${JSON.stringify(TRANSPORT)});
      const { silentLogger: log } = await import(${JSON.stringify(LOG)});
      // 64 KiB asked, 128 KiB granted: room for ~50 datagrams of 1400 bytes.
      const t = await NativeUdpTransport.open({ port: 0, host6: null, sendBufferBytes: 65536, log });
      const to = { host: '10.97.0.2', port: 9 };
      const payload = Buffer.alloc(1400);
      let threw = null;
      try {
        for (let i = 0; i < 2000; i++) t.sendQueued(payload, to);
        t.flush();
      } catch (err) {
        threw = String(err);
      }
      const c = t.counters;
      console.log(JSON.stringify({ threw, sent: c.datagramsSent, dropped: c.sendDropped, lastDrop: c.lastSendDrop, errors: c.sendErrors }));
      await t.close();
      `,
    );
    assert.equal(result.threw, null);
    assert.equal(result.errors, 0);
    assert.equal((result.sent as number) + (result.dropped as number), 2000, JSON.stringify(result));
    assert.ok((result.sent as number) > 0, JSON.stringify(result));
    assert.ok((result.dropped as number) > 1000, JSON.stringify(result));
    assert.equal(result.lastDrop, 'EAGAIN');
  });

  for (const [family, src, dst] of [
    ['IPv4', '10.97.0.1', '10.97.0.2'],
    ['IPv6', 'fd97::1:0:0:1', 'fd97::2'],
  ] as const) {
    test(`${family}: datagrams queued across namespaces arrive with the sender as source`, async () => {
      const receiver = nodeIn(
        nsB,
        `
        const { NativeUdpTransport } = await import(${JSON.stringify(TRANSPORT)});
        const { silentLogger: log } = await import(${JSON.stringify(LOG)});
        const t = await NativeUdpTransport.open({ port: 7946, log });
        const sources = new Set();
        let count = 0;
        t.onBatch((b) => { for (let i = 0; i < b.count; i++) { count++; const from = b.source(i); sources.add(from.host + ' ' + from.port); } });
        await new Promise((r) => setTimeout(r, 1500));
        console.log(JSON.stringify({ count, sources: [...sources] }));
        await t.close();
        `,
      );
      await new Promise((r) => setTimeout(r, 300)); // let the receiver bind
      const sender = await nodeIn(
        nsA,
        `
        const { NativeUdpTransport } = await import(${JSON.stringify(TRANSPORT)});
        const { silentLogger: log } = await import(${JSON.stringify(LOG)});
        const t = await NativeUdpTransport.open({ port: 7000, log });
        for (let i = 0; i < 20; i++) t.sendQueued(Buffer.alloc(100), { host: '${dst}', port: 7946 });
        t.flush();
        console.log(JSON.stringify({ sent: t.counters.datagramsSent }));
        await t.close();
        `,
      );
      const got = await receiver;
      assert.equal(sender.sent, 20);
      assert.equal(got.count, 20);
      assert.deepEqual(got.sources, [`${src} 7000`]);
    });
  }
});
