// Types for noise-handshake (v4) and noise-curve-ed (v2), which ship none.
declare module 'noise-handshake' {
  export interface KeyPair {
    publicKey: Uint8Array;
    secretKey: Uint8Array;
  }
  export interface Curve {
    DHLEN: number;
    PKLEN: number;
    SKLEN: number;
    ALG: string;
    generateKeyPair(seed?: Uint8Array): KeyPair;
    dh(publicKey: Uint8Array, keyPair: KeyPair): Uint8Array;
  }
  export default class NoiseState {
    constructor(
      pattern: 'IK' | 'XX' | 'XK' | 'NN',
      initiator: boolean,
      staticKeyPair?: KeyPair,
      opts?: { curve?: Curve },
    );
    s: KeyPair;
    /** Ephemeral key pair; `send` generates one only if this is null, so it may be preset. */
    e: KeyPair | null;
    rs: Uint8Array | null;
    rx: Uint8Array | null;
    tx: Uint8Array | null;
    hash: Uint8Array | null;
    complete: boolean;
    initialise(prologue: Uint8Array, remoteStatic?: Uint8Array): void;
    /** MixHash(data) of the Noise spec: binds public data into the transcript hash (SymmetricState). */
    mixHash(data: Uint8Array): void;
    send(payload?: Uint8Array): Uint8Array;
    recv(message: Uint8Array): Uint8Array;
  }
}
declare module 'noise-curve-ed' {
  import type { Curve } from 'noise-handshake';
  const curve: Curve;
  export default curve;
}
