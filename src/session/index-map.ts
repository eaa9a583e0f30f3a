// Receiver indices: random u32s we hand to peers (the senderIndex of our handshake messages) so that
// their packets name our keypair directly. An index is reserved while our initiation is pending and
// stays with the keypair it produces until the keypair is dropped. Unique across the whole table, and
// never 0, so a zeroed header never matches.
import type { DataKeypair } from './keypair.js';
import type { RandomSource } from './params.js';
import type { PeerSession } from './peer-session.js';

export interface IndexEntry {
  peer: PeerSession;
  /** null while the index belongs to a pending initiation. */
  keypair: DataKeypair | null;
}

const MAX_TRIES = 64;

export class IndexMap {
  private readonly entries = new Map<number, IndexEntry>();

  constructor(private readonly random: RandomSource) {}

  /** Reserves a fresh random index for `peer`. */
  allocate(peer: PeerSession): number {
    for (let i = 0; i < MAX_TRIES; i++) {
      const index = Math.floor(this.random() * 0x1_0000_0000) >>> 0;
      if (index !== 0 && !this.entries.has(index)) {
        this.entries.set(index, { peer, keypair: null });
        return index;
      }
    }
    // Only a broken random source gets here: 64 collisions in a space of 2^32.
    throw new Error('could not allocate a session index');
  }

  get(index: number): IndexEntry | undefined {
    return this.entries.get(index);
  }

  /** Attaches the keypair made from the handshake that reserved `index`. */
  bind(index: number, keypair: DataKeypair): void {
    const entry = this.entries.get(index);
    if (entry === undefined) throw new Error(`index ${index} not reserved`);
    entry.keypair = keypair;
  }

  release(index: number): void {
    this.entries.delete(index);
  }

  get size(): number {
    return this.entries.size;
  }
}
