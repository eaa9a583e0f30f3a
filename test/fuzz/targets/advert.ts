// Signed link-state adverts (routing/advert.ts) through a real Router's receiveControl: peekAdvert,
// the freshness check, the signature, decodeAdvert's semantic checks and the database. Seeds: adverts
// of a neighbour, of a member heard only through others, of ourselves (a restart's echo), with 0 to 7
// member links (some with link MTUs, at and inside the bounds), and one with 140 links to non-members; all signed by their origins' real keys. Half
// the mutants are re-signed by the origin they name, so they get past the signature.
// Accepted forgery: see fixtures/router-run.ts.
import { ADVERT_MAX_LINK_MTU, ADVERT_MAX_LINKS, ADVERT_MIN_LINK_MTU } from '../../../src/routing/advert.js';
import { advertMessageSeed } from '../fixtures/control-seeds.js';
import { NON_MEMBER_IDS } from '../fixtures/members.js';
import { RouterRig } from '../fixtures/router-rig.js';
import { GenuineSet } from '../fixtures/genuine.js';
import { routerRun } from '../fixtures/router-run.js';
import type { Seed } from '../mutator.js';
import type { FuzzTarget, TargetRun } from '../target.js';

export const advertTarget: FuzzTarget = {
  name: 'advert',
  description:
    'signed adverts (half re-signed by the origin they name) into Router.receiveControl; forgery = an ' +
    'advert accepted with changed content, or a self-signed one the format forbids',
  weight: 6,
  setup(rng): TargetRun {
    const rig = new RouterRig(rng.u32());
    const seeds: Seed[] = [];
    const genuine = new GenuineSet(seeds);
    const add = (label: string, make: (seq: number) => Uint8Array): void => {
      let seq = rig.wall;
      const next = (): Seed => {
        seq = Math.max(seq + 1, rig.wall);
        const advert = make(seq);
        return genuine.add(Buffer.from(advert).toString('hex'), advertMessageSeed(label, advert), next);
      };
      seeds.push(next());
    };
    const [a] = rig.neighbours;
    const [d] = rig.strangers;
    add('neighbour, no links', (seq) => rig.advert(a, [], seq));
    add('neighbour, 3 links', (seq) => rig.advert(a, rig.linksOf(a, rig.members.slice(0, 4)), seq));
    add('member, 7 links', (seq) => rig.advert(d, rig.linksOf(d, rig.members), seq));
    add('ourselves, 3 links', (seq) =>
      rig.advert(rig.self, rig.linksOf(rig.self, rig.neighbours), seq + 60_000),
    );
    // Link MTUs: the floor, the jumbo top and one between, on some links only.
    const mtus = [ADVERT_MIN_LINK_MTU, undefined, 1300, ADVERT_MAX_LINK_MTU];
    add('member, 7 links, 3 with an MTU', (seq) =>
      rig.advert(
        d,
        rig
          .linksOf(d, rig.members)
          .map((l, i) => (mtus[i % 4] === undefined ? l : { ...l, mtu: mtus[i % 4] })),
        seq,
      ),
    );
    const wide = Array.from({ length: ADVERT_MAX_LINKS }, (_, i) => ({
      neighbor: NON_MEMBER_IDS[0] + i,
      rttMs: i,
      loss: 0,
      flags: 0,
    }));
    add('neighbour, 140 links', (seq) => rig.advert(a, wide, seq));
    return routerRun(rig, seeds, genuine, { resign: true });
  },
};
