// A 32-bit integer mixer (the "lowbias32" finaliser): every input bit flips about half the output
// bits. The same function on every node, so hash-based choices (designated announcers, digests)
// agree across the network without exchanging anything.
export function mix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
