// The data plane against the real kernel, three ways: with TUN offloads (TSO/USO super-packets cut and
// merged in user space), UDP GSO/GRO and the TUN's outbound fast lane (native/fast-lane.h); with the
// offloads forced off (--no-offloads); and with the fast lane off (--no-fast-lane). A 50 MB transfer
// must cross intact every way, IPv4 and IPv6, and pings must take the lane when it is on. Then the interface is set down under traffic
// for 5 s: the daemon must count and survive it, say so once, and carry traffic again once it is up.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, OverlayLab } from '../lab/overlay-lab.js';
import { parsePing } from '../lab/ping.js';
import { tcpTransfer } from '../lab/tcp-transfer.js';

const skip = labSkipReason();
const MB = 1024 * 1024;

function logOf(ol: OverlayLab, site: string): string {
  return readFileSync(ol.site(site).process!.stderrPath, 'utf8');
}

const MODES = [
  { offloads: true, lane: true, title: 'offloads and fast lane on' },
  { offloads: false, lane: true, title: 'offloads forced off' },
  { offloads: true, lane: false, title: 'fast lane off' },
];

for (const { offloads, lane, title } of MODES) {
  describe(`data plane with ${title}`, { skip }, () => {
    let ol: OverlayLab;

    before(async () => {
      const upArgs = [...(offloads ? [] : ['--no-offloads']), ...(lane ? [] : ['--no-fast-lane'])];
      ol = await OverlayLab.create({ sites: ['a', 'c'], upArgs });
      ol.startAll();
      await ol.waitConverged(30_000);
    });

    after(() => closeLab(ol, 30));

    it('says what the kernel granted', () => {
      for (const site of ['a', 'c']) {
        const log = logOf(ol, site);
        if (offloads) {
          assert.match(log, /TUN ovl0: offloads TSO, USO/);
          assert.match(log, /GSO\/GRO on/);
        } else {
          assert.match(log, /TUN ovl0: offloads forced off/);
          assert.match(log, /GSO\/GRO forced off/);
        }
      }
    });

    it(
      lane
        ? 'pings after the first take the fast lanes, out and in, both ways'
        : 'no packet takes a fast lane',
      async () => {
        const before = { a: (await ol.status('a')).fastLane!, c: (await ol.status('c')).fastLane! };
        const r = await ol.lab.exec(
          'a',
          ['ping', '-n', '-c', '50', '-i', '0.02', '-W', '1', ol.addressOf('c')],
          {
            timeoutMs: 20_000,
          },
        );
        assert.equal(parsePing(r.stdout).received, 50, r.stdout);
        for (const site of ['a', 'c'] as const) {
          const now = (await ol.status(site)).fastLane!;
          assert.equal(now.on, lane);
          const took = now.packets - before[site].packets;
          const tookIn = now.rxPackets! - before[site].rxPackets!;
          // The status call comes after the lanes' last sync: a ping or two may still be unread. A ping
          // read in the same batch as a probe (JavaScript's) takes the JS path with it.
          if (lane) {
            assert.ok(took >= 45, `${site}: ${took} of 50 left by the outbound lane`);
            assert.ok(tookIn >= 35, `${site}: ${tookIn} of 50 came in by the inbound lane`);
          } else {
            assert.equal(took + tookIn, 0);
          }
        }
      },
    );

    for (const family of [4, 6] as const) {
      it(`carries a 50 MB TCP transfer over IPv${family} whose sha256 matches`, async () => {
        const { sent, got } = await tcpTransfer(ol, 'a', 'c', {
          bytes: 50 * MB,
          family,
          port: 5200 + family,
        });
        assert.equal(got.bytes, 50 * MB);
        assert.equal(got.sha256, sent.sha256);
        const drops = (await ol.status('c')).drops;
        assert.equal(drops['auth-failed'] ?? 0, 0);
        assert.equal(drops['spoofed-source'] ?? 0, 0);
      });
    }
  });
}

describe('a TUN set down for 5 s under traffic', { skip }, () => {
  let ol: OverlayLab;

  before(async () => {
    ol = await OverlayLab.create({ sites: ['a', 'c'] });
    ol.startAll();
    await ol.waitConverged(30_000);
  });

  after(() => closeLab(ol, 40));

  it('is counted and survived; traffic resumes once the interface is up again', async () => {
    // 12 s of pings at 20/s from a to c; c's interface goes down 2 s in, up again 5 s later.
    const ping = ol.lab.spawn('a', ['ping', '-n', '-c', '240', '-i', '0.05', '-W', '1', ol.addressOf('c')], {
      name: 'ping-through-down',
    });
    await new Promise((r) => setTimeout(r, 2000));
    await ol.lab.execOk('c', ['ip', 'link', 'set', 'ovl0', 'down']);
    await new Promise((r) => setTimeout(r, 5000));
    await ol.lab.execOk('c', ['ip', 'link', 'set', 'ovl0', 'up']);
    await ping.exited;
    const r = parsePing(readFileSync(ping.stdoutPath, 'utf8'));
    assert.ok(ol.site('c').process!.isAlive(), 'c is still running');
    // ~40 replies before the cut and ~100 after: well over half came back.
    assert.ok(r.received >= 100, `${r.received}/240 replies`);
    assert.ok(r.received <= 200, `the 5 s down cost replies (${r.received}/240)`);
    const drops = (await ol.status('c')).drops;
    assert.ok((drops['tun-error'] ?? 0) > 0, 'writes to the down interface counted as tun-error');
    const log = logOf(ol, 'c');
    assert.equal(log.match(/TUN ovl0 refuses packets/g)?.length, 1, 'logged once when it started');
    assert.match(log, /TUN ovl0 takes packets again after/);
    // The kernel flushed c's IPv6 address on down; the daemon put it back.
    const v6 = await ol.lab.ping('a', ol.addressOf('c', 6), { count: 3, intervalS: 0.2, family: 6 });
    assert.equal(v6.received, 3, 'IPv6 works again too');
  });
});
