// Keeping an advert within one packet once its links carry MTUs (advert.ts): 140 links, 4 endpoints
// and an MTU on every link would be 1560 bytes, over ADVERT_MAX_BYTES.
import { SIGNATURE_BYTES } from '../identity/keys.js';
import {
  ADVERT_LINK_MTU_BYTES,
  ADVERT_MAX_BYTES,
  endpointSection,
  linksBytes,
  type Advert,
  type AdvertLink,
} from './advert.js';

/** Bytes `advert` encodes to, signature included. */
export function advertBytes(advert: Advert): number {
  const mtus = advert.links.filter((l) => l.mtu !== undefined).length;
  return linksBytes(advert.links.length, mtus) + endpointSection(advert).bytes + SIGNATURE_BYTES;
}

/**
 * `advert` with link MTUs left off (largest first: they lower paths least) until it fits
 * ADVERT_MAX_BYTES. Only a node with over ~60 links below the full MTU and a full endpoint list gets
 * here; a link left off counts as full size for the others, as before link MTUs were advertised.
 */
export function fitLinkMtus(advert: Advert): Advert {
  let over = advertBytes(advert) - ADVERT_MAX_BYTES;
  if (over <= 0) return advert;
  const drop = new Set<AdvertLink>();
  const byMtu = advert.links.filter((l) => l.mtu !== undefined).sort((a, b) => b.mtu! - a.mtu!);
  for (const l of byMtu) {
    if (over <= 0) break;
    drop.add(l);
    over -= ADVERT_LINK_MTU_BYTES;
  }
  const links = advert.links.map((l) => (drop.has(l) ? { ...l, mtu: undefined } : l));
  return { ...advert, links };
}
