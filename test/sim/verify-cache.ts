// Ed25519 verification for the simulated nodes, optionally shared between them.
//
// Every one of N nodes verifies every new advert once: N² real verifications per flooding round
// (1000 nodes: 10⁶ × ~43 µs ≈ 43 s of CPU), which in a real network is spread over N machines but in
// the simulator lands on one core. With the cache on, a (signature, message, key) triple that some
// node already verified is answered from the cache: the result is identical by definition (the same
// bytes verify the same way), the first check of each triple is a real one, and a forged or altered
// advert is a different triple and is verified for real. The counters say how much was real.
type VerifyFn = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean;

interface Entry {
  message: Uint8Array;
  publicKey: Uint8Array;
  ok: boolean;
}

export class VerifyCache {
  calls = 0;
  realVerifications = 0;
  realMs = 0;
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly verifyFn: VerifyFn,
    private readonly enabled: boolean,
  ) {}

  verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
    this.calls++;
    const key = this.enabled
      ? Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('latin1')
      : '';
    if (this.enabled) {
      const hit = this.cache.get(key);
      if (hit && equal(hit.message, message) && equal(hit.publicKey, publicKey)) return hit.ok;
    }
    const t0 = performance.now();
    const ok = this.verifyFn(signature, message, publicKey);
    this.realMs += performance.now() - t0;
    this.realVerifications++;
    if (this.enabled) {
      if (this.cache.size > 200_000) this.cache.clear();
      this.cache.set(key, { message: message.slice(), publicKey: publicKey.slice(), ok });
    }
    return ok;
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(a, b) === 0;
}
