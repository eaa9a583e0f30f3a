// The foundation, for real: overlayd daemons in three network namespaces over real TUN devices and
// UDP. Every pair pings over overlay addresses (IPv4 and IPv6); 50 MB cross intact; a stranger gets
// nothing through; hostile datagrams are counted and survived; SIGTERM removes the TUN.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, OVERLAYD_BIN, OverlayLab } from '../lab/overlay-lab.js';
import { tcpTransfer } from '../lab/tcp-transfer.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const skip = labSkipReason();

describe('overlayd on three sites (netns, real TUN and UDP)', { skip }, () => {
  let ol: OverlayLab;

  before(async () => {
    // Site x is a stranger: it has a namespace and a key, but no entry in the members' peers.yaml.
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c', 'x'] });
    for (const name of ['a', 'b', 'c']) ol.start(name);
    ol.writePeers(['a', 'b', 'c']);
    await ol.waitConverged(20_000, ['a', 'b', 'c']);
  });

  after(() => closeLab(ol, 30));

  it('pings every pair over overlay IPv4 and IPv6 addresses', async () => {
    for (const from of ['a', 'b', 'c']) {
      for (const to of ['a', 'b', 'c']) {
        if (from === to) continue;
        for (const family of [4, 6] as const) {
          const r = await ol.lab.ping(from, ol.addressOf(to, family), { count: 3, intervalS: 0.1, family });
          assert.equal(r.received, 3, `${from} → ${to} over IPv${family}: ${r.received}/3`);
        }
      }
    }
  });

  it('carries a 50 MB TCP transfer whose sha256 matches', async () => {
    const { sent, got } = await tcpTransfer(ol, 'a', 'c', { bytes: 50 * 1024 * 1024 });
    assert.equal(got.bytes, 50 * 1024 * 1024);
    assert.equal(got.sha256, sent.sha256);
  });

  it('gives a member whose key is not in peers.yaml no session and no packet through', async () => {
    // The stranger believes it is a member: its own peers.yaml lists itself beside the real members.
    const strangerPeers = ol.lab.path('stranger-peers.yaml');
    ol.writePeers(['a', 'b', 'c', 'x']);
    writeFileSync(strangerPeers, readFileSync(ol.peersFile));
    ol.writePeers(['a', 'b', 'c']);
    const x = ol.site('x');
    const stranger = ol.lab.spawn(
      'x',
      [
        process.execPath,
        OVERLAYD_BIN,
        'up',
        '--peers',
        strangerPeers,
        '--key',
        x.keyFile,
        '--control',
        x.socket,
        '--log-level',
        'debug',
      ],
      { name: 'overlayd-stranger' },
    );
    // The stranger's node id is no member's, so a drops its handshakes before any cryptography.
    const strangerDrops = async (): Promise<number> => (await ol.status('a')).drops['not-for-member'] ?? 0;
    const dropsBefore = await strangerDrops();
    await ol.lab.waitFor(async () => (await strangerDrops()) > dropsBefore, {
      timeoutMs: 15_000,
      what: 'a to drop the stranger’s handshakes',
    });
    const ping = await ol.lab.ping('x', ol.addressOf('a'), { count: 5, intervalS: 0.2 });
    assert.equal(ping.received, 0, 'a stranger must get no packet through');
    const fromA = await ol.status('x');
    assert.equal(fromA.members.find((m) => m.name === 'a')?.session.established, false);
    const aView = await ol.status('a');
    assert.ok(!aView.members.some((m) => m.name === 'x'), 'a does not list the stranger');
    await stranger.stop();
  });

  it('counts 10,000 random and truncated datagrams and keeps running', async () => {
    const before = await ol.status('a');
    const dropsBefore = Object.values(before.drops).reduce((s, v) => s + v, 0);
    const out = await ol.lab.execOk(
      'b',
      [
        process.execPath,
        FIXTURES + 'udp-garbage.js',
        '--to',
        ol.lab.addressOf('a', 4),
        '--port',
        '7946',
        '--count',
        '10000',
      ],
      { timeoutMs: 90_000 },
    );
    assert.equal(JSON.parse(out).sent, 10_000);
    await ol.lab.waitFor(
      async () => {
        const s = await ol.status('a');
        return Object.values(s.drops).reduce((sum, v) => sum + v, 0) - dropsBefore >= 10_000;
      },
      { timeoutMs: 10_000, what: 'a counted every hostile datagram' },
    );
    assert.ok(ol.site('a').process?.isAlive(), 'daemon a still running');
    const r = await ol.lab.ping('b', ol.addressOf('a'), { count: 3, intervalS: 0.1 });
    assert.equal(r.received, 3, 'a still forwards after the garbage');
  });

  it('removes its TUN on SIGTERM and exits cleanly', async () => {
    const c = ol.site('c').process!;
    assert.match(await ol.lab.execOk('c', ['ip', 'link', 'show', 'ovl0']), /ovl0/);
    c.kill('SIGTERM');
    const exit = await c.exited;
    assert.equal(exit.code, 0);
    const show = await ol.lab.exec('c', ['ip', 'link', 'show', 'ovl0']);
    assert.notEqual(show.code, 0, 'ovl0 must be gone');
  });
});
