// Path MTU over a relayed path on real daemons: a has no link to c (cut in the wan), so it reaches c
// through b; the a–b link is clean and b–c, the second hop, drops every packet over 1300 bytes with
// ICMP filtered. a cannot measure b–c: b does, and advertises what it found with the link. a's path MTU
// to c is the smaller of the two hops less one relay's header, and a 1400-byte ping with DF set gets
// "frag needed" with it (before link MTUs were advertised, a used 1420 and the packet was lost at b–c).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { mtuBlackHole } from '../lab/mtu-black-hole.js';
import { closeLab, OverlayLab } from '../lab/overlay-lab.js';
import { dataOverhead } from '../../src/wire/sizes.js';

const skip = labSkipReason({});
const LIMIT = 1300;
/** The search stops within this many bytes below the true size (link-mtu-search.ts). */
const PRECISION = 8;

describe(
  'path MTU: a reaches c through b, and the second hop b–c drops packets over 1300 bytes',
  { skip },
  () => {
    let ol: OverlayLab;
    before(async () => {
      ol = await OverlayLab.create({ sites: ['a', 'b', 'c'] });
      ol.writePeers(undefined, (yaml) => yaml.replace('  port:', '  mtu: 1420\n  port:'));
      await ol.lab.cut('a', 'c');
      await mtuBlackHole(ol.lab, 'b', 'c', LIMIT);
      ol.startAll();
      await ol.waitConverged(20_000);
    });
    after(() => closeLab(ol));

    async function member(from: string, to: string) {
      return (await ol.status(from)).members.find((m) => m.name === to)!;
    }

    it("takes the path MTU from b's advertised b–c link MTU, and answers a 1400-byte ping with it", async () => {
      // b's search on its link to c settles; its next advert carries the result to a. b reaches c over
      // IPv4 or IPv6, whichever its prober finds best at the moment (it may move), and advertises the
      // MTU of the one in use: wait until a's path MTU matches what b uses.
      const seen = await ol.lab.waitFor(
        async () => {
          const bc = (await member('b', 'c')).direct?.mtu;
          if (bc?.state !== 'settled') return undefined;
          const c = await member('a', 'c');
          return c.pathMtu === bc.datagramBytes - dataOverhead(1) ? { bc, c } : undefined;
        },
        { timeoutMs: 20_000, what: "a's path MTU to c = b's b–c link MTU less a relay's header" },
      );
      console.log(
        `# b–c link: ${seen.bc.datagramBytes} B datagrams; a's path MTU to c: ${seen.c.pathMtu} ` +
          `(to b, direct: ${(await member('a', 'b')).pathMtu})`,
      );
      assert.deepEqual(seen.c.path, ['a', 'b', 'c']);
      // b–c carries LIMIT less IPv4's or IPv6's headers, found within the search's precision.
      const relayed = (datagram: number) => datagram - dataOverhead(1);
      const v6 = { min: relayed(LIMIT - 48 - PRECISION), max: relayed(LIMIT - 48) };
      const v4 = { min: relayed(LIMIT - 28 - PRECISION), max: relayed(LIMIT - 28) };
      assert.ok([v4, v6].some((r) => seen.c.pathMtu! >= r.min && seen.c.pathMtu! <= r.max));
      const dst = ol.addressOf('c');
      // A packet that fits either family's b–c path, both ways, gets through (the first may wait for
      // the a–c handshake: up to 3 tries).
      const small = await ol.lab.exec(
        'a',
        ['ping', '-M', 'do', '-s', String(v6.min - 28), '-c', '3', '-i', '0.3', '-W', '1', dst],
        { timeoutMs: 10_000 },
      );
      assert.match(small.stdout, new RegExp(`${v6.min - 20} bytes from ${dst}`), small.stdout + small.stderr);
      const r = await ol.lab.exec('a', ['ping', '-M', 'do', '-s', '1372', '-c', '1', '-W', '1', dst], {
        timeoutMs: 10_000,
      });
      const out = r.stdout + r.stderr;
      const told = /Frag needed and DF set \(mtu = (\d+)\)/.exec(out);
      assert.ok(told, out);
      const mtu = Number(told[1]);
      assert.ok(
        [v4, v6].some((x) => mtu >= x.min && mtu <= x.max),
        `told mtu ${mtu}`,
      );
    });
  },
);
