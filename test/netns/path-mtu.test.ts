// Path MTU on real daemons: the only link between a and b drops every packet over 1300 bytes (IP
// length) in the wan, and ICMP between them is filtered: an MTU black hole. Small probes pass, so the
// link looks perfect; without path MTU discovery the first full-size TCP segment is lost for good and a
// transfer hangs. Here a finds the link's largest datagram (1300 less the underlay's IP and UDP headers:
// 1272 over IPv4, 1252 over IPv6), a 20 MB TCP transfer completes intact, and a 1400-byte ping with DF
// set gets ICMP "fragmentation needed" with the path MTU. The overlay MTU is 1420 here, so that a
// 1400-byte packet passes the TUN and reaches overlayd (at the default 1380 the kernel refuses it).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { mtuBlackHole, type MtuBlackHole } from '../lab/mtu-black-hole.js';
import { closeLab, OverlayLab } from '../lab/overlay-lab.js';
import { startTcpTransfer } from '../lab/scenarios.js';
import { dataOverhead } from '../../src/wire/sizes.js';

const skip = labSkipReason({});
const LIMIT = 1300;
/** The search stops within this many bytes below the true size (link-mtu-search.ts). */
const PRECISION = 8;
/** The largest datagram the link carries: the limit less the underlay's IP (20 or 40) and UDP headers. */
const linkDatagram = (endpoint: string): number => LIMIT - (endpoint.startsWith('[') ? 48 : 28);

describe('path MTU: the only a–b link drops packets over 1300 bytes and ICMP is filtered', { skip }, () => {
  let ol: OverlayLab;
  let hole: MtuBlackHole;
  before(async () => {
    ol = await OverlayLab.create({ sites: ['a', 'b'] });
    ol.writePeers(undefined, (yaml) => yaml.replace('  port:', '  mtu: 1420\n  port:'));
    hole = await mtuBlackHole(ol.lab, 'a', 'b', LIMIT);
    ol.startAll();
    await ol.waitConverged(20_000);
  });
  after(() => closeLab(ol));

  async function member(from: string, to: string) {
    return (await ol.status(from)).members.find((m) => m.name === to)!;
  }

  it('discovers the link and path MTU, shown in status', async () => {
    const t0 = Date.now();
    const b = await ol.lab.waitFor(
      async () => {
        const m = await member('a', 'b');
        return m.direct?.mtu?.state === 'settled' ? m : undefined;
      },
      { timeoutMs: 20_000, what: 'a–b link MTU settled' },
    );
    const mtu = b.direct!.mtu!;
    const truth = linkDatagram(b.direct!.endpoint);
    console.log(
      `# a–b link over ${b.direct!.endpoint}: ${mtu.datagramBytes} B datagrams (true ${truth}), path MTU ` +
        `${b.pathMtu}, settled ${Date.now() - t0} ms after convergence`,
    );
    // Within the search's precision (8 bytes) below the true size, never above it.
    assert.ok(mtu.datagramBytes <= truth && mtu.datagramBytes >= truth - PRECISION, `${mtu.datagramBytes}`);
    assert.equal(b.pathMtu, mtu.datagramBytes - dataOverhead(0));
    // Each family's endpoint is measured, not only the one in use: a move between them (the prober
    // takes the better, a loss burst is enough) finds its MTU known instead of searching from the floor.
    const both = await ol.lab.waitFor(
      async () => {
        const eps = (await member('a', 'b')).endpoints.filter((e) => e.alive);
        return eps.length === 2 && eps.every((e) => e.mtu?.state === 'settled') ? eps : undefined;
      },
      { timeoutMs: 20_000, what: "both of b's endpoints measured at a" },
    );
    for (const e of both) {
      const got = e.mtu!.datagramBytes;
      const want = linkDatagram(e.endpoint);
      console.log(`# a–b over ${e.endpoint}: ${got} B datagrams (true ${want})`);
      assert.ok(got <= want && got >= want - PRECISION, `${e.endpoint}: ${got}`);
    }
  });

  it('carries a 20 MB TCP transfer a → b intact within 30 s', async () => {
    const t0 = Date.now();
    const transfer = await startTcpTransfer(ol, 'a', 'b', {
      port: 5401,
      bytes: 20_000_000,
      name: 'pmtu',
      timeoutMs: 30_000,
    });
    const { sent, got } = await transfer.done;
    const ms = Date.now() - t0;
    assert.equal(got.bytes, 20_000_000);
    assert.equal(got.sha256, sent.sha256);
    const s = await ol.status('a');
    console.log(
      `# 20 MB in ${ms} ms over a link dropping > ${LIMIT} B (${await hole.dropped()} dropped in the wan); ` +
        `a: ${s.mtu.tooBigIcmpSent} ICMP too big sent, ${s.mtu.tooBigIcmpLimited} rate-limited`,
    );
    assert.ok(ms < 30_000);
  });

  it('answers a 1400-byte ping with DF set with "frag needed" and the path MTU', async () => {
    await ol.lab.waitFor(
      async () => {
        const m = await member('a', 'b');
        return m.direct?.mtu?.state === 'settled' ? m : undefined;
      },
      { timeoutMs: 10_000, what: 'a–b link MTU settled' },
    );
    // a and b use the IPv4 or the IPv6 endpoint, whichever the prober finds best at the moment (a loss
    // burst during the transfer can move them), and the two differ by the 20 bytes of IPv6's longer
    // header: the path MTU is one of the two, each found within the search's precision.
    const direct = (datagram: number) => datagram - dataOverhead(0);
    const v6 = { min: direct(LIMIT - 48 - PRECISION), max: direct(LIMIT - 48) };
    const v4 = { min: direct(LIMIT - 28 - PRECISION), max: direct(LIMIT - 28) };
    const inRange = (mtu: number) => [v4, v6].some((r) => mtu >= r.min && mtu <= r.max);
    // 1372 bytes of payload + 8 ICMP + 20 IP = a 1400-byte packet, answered by overlayd's ICMP (from the
    // packet's destination: forward/too-big.ts says why); the second is refused by a's kernel, which now
    // knows the PMTU.
    const dst = ol.addressOf('b');
    // Forget the PMTU the transfer taught a's kernel: the first ping must meet overlayd's ICMP itself.
    await ol.lab.execOk('a', ['ip', 'route', 'flush', 'cache']);
    const r = await ol.lab.exec(
      'a',
      ['ping', '-M', 'do', '-s', '1372', '-c', '2', '-i', '0.3', '-W', '1', dst],
      {
        timeoutMs: 10_000,
      },
    );
    const out = r.stdout + r.stderr;
    console.log(`# ping -M do -s 1372: ${out.trim().split('\n').slice(1, 3).join(' | ')}`);
    const told = new RegExp(`From ${dst} icmp_seq=1 Frag needed and DF set \\(mtu = (\\d+)\\)`).exec(out);
    assert.ok(told, out);
    assert.ok(inRange(Number(told[1])), `told mtu ${told[1]}, expected within ${JSON.stringify({ v4, v6 })}`);
    // And a ping that fits either family's path, both ways, still gets through.
    const small = await ol.lab.exec(
      'a',
      ['ping', '-M', 'do', '-s', String(v6.min - 28), '-c', '2', '-i', '0.3', '-W', '2', dst],
      {
        timeoutMs: 10_000,
      },
    );
    assert.equal(small.code, 0, small.stdout + small.stderr);
  });
});
