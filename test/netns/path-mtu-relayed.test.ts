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
      // b's search on its link to c settles; its next advert carries the result to a.
      const bc = await ol.lab.waitFor(
        async () => {
          const m = await member('b', 'c');
          return m.direct?.mtu?.state === 'settled' ? m.direct.mtu : undefined;
        },
        { timeoutMs: 20_000, what: 'b–c link MTU settled' },
      );
      assert.ok(bc.datagramBytes <= LIMIT - 28, `${bc.datagramBytes}`);
      const expected = bc.datagramBytes - dataOverhead(1);
      const c = await ol.lab.waitFor(
        async () => {
          const m = await member('a', 'c');
          return m.pathMtu === expected ? m : undefined;
        },
        { timeoutMs: 10_000, what: `a's path MTU to c = ${expected}` },
      );
      console.log(
        `# b–c link: ${bc.datagramBytes} B datagrams; a's path MTU to c: ${c.pathMtu} ` +
          `(to b, direct: ${(await member('a', 'b')).pathMtu})`,
      );
      assert.deepEqual(c.path, ['a', 'b', 'c']);
      const dst = ol.addressOf('c');
      // A packet that fits both ways gets through (the first may wait for the a–c handshake: up to 3
      // tries). c's path MTU back can be smaller: c may reach b over the other address family.
      const fits = Math.min(expected, (await member('c', 'a')).pathMtu ?? expected);
      const small = await ol.lab.exec(
        'a',
        ['ping', '-M', 'do', '-s', String(fits - 28), '-c', '3', '-i', '0.3', '-W', '1', dst],
        { timeoutMs: 10_000 },
      );
      assert.match(small.stdout, new RegExp(`${fits - 20} bytes from ${dst}`), small.stdout + small.stderr);
      const r = await ol.lab.exec('a', ['ping', '-M', 'do', '-s', '1372', '-c', '1', '-W', '1', dst], {
        timeoutMs: 10_000,
      });
      const out = r.stdout + r.stderr;
      assert.match(out, new RegExp(`Frag needed and DF set \\(mtu = ${expected}\\)`));
    });
  },
);
