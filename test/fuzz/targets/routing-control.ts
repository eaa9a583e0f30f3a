// Routing control messages (routing/control-codec.ts: SUMMARY, REQUEST, ANNOUNCE, DIGEST, ADVERT)
// through a real Router's receiveControl, from its neighbours and from senders it must refuse.
// Seeds: what the codec encodes, naming the members with plausible seqs, up to the chunk limits, and
// adverts signed by their origins. Accepted forgery: see fixtures/router-run.ts (no re-signing here:
// an advert accepted must be a genuine one).
import { claimSeeds, advertMessageSeed } from '../fixtures/control-seeds.js';
import { RouterRig } from '../fixtures/router-rig.js';
import { GenuineSet } from '../fixtures/genuine.js';
import { routerRun } from '../fixtures/router-run.js';
import type { Seed } from '../mutator.js';
import type { FuzzTarget, TargetRun } from '../target.js';

export const routingControlTarget: FuzzTarget = {
  name: 'routing-control',
  description:
    'SUMMARY/REQUEST/ANNOUNCE/DIGEST/ADVERT into Router.receiveControl from neighbours and others; ' +
    'forgery = an advert accepted that is not a genuine one never accepted before',
  weight: 6,
  setup(rng): TargetRun {
    const rig = new RouterRig(rng.u32());
    const seeds: Seed[] = claimSeeds(rig.ids(), rig.wall, rng);
    const genuine = new GenuineSet(seeds);
    for (const origin of [rig.neighbours[0], rig.strangers[0]]) {
      let seq = rig.wall;
      const make = (): Seed => {
        seq = Math.max(seq + 1, rig.wall);
        const advert = rig.advert(origin, rig.linksOf(origin, rig.members.slice(0, 5)), seq);
        return genuine.add(
          Buffer.from(advert).toString('hex'),
          advertMessageSeed(`advert from ${origin.name}`, advert),
          make,
        );
      };
      seeds.push(make());
    }
    return routerRun(rig, seeds, genuine, { resign: false });
  },
};
