// Sealed payloads of direct-link probes (inner kinds Probe and ProbeReply). Offsets are from the
// start of the plaintext (its first byte is the inner kind):
//
//   Probe       u8 kind=2 | u32 id                                                (PROBE_BYTES)
//   ProbeReply  u8 kind=3 | u32 id | [observed source: u8 family | addr | u16 port]
//
// The observed source (issue 12) is where the reply's sender saw the probe come from: our address
// and port as members see them, after any NAT. It is sent only on direct probes (over a relay the
// source is the relay's) and only inside the sealed reply, so the member that observed it is the
// only one who can have written it. The first five bytes are unchanged: a reply of exactly
// PROBE_BYTES is still valid (no observation); anything between that and PROBE_REPLY_MAX_BYTES must
// hold one well-formed endpoint and nothing after it (see nat/endpoint-bytes.ts), else bad-inner.
//
// Version note: nodes from before issue 12 accept only 5-byte replies, so every member of a network
// must run this version or later before any of them is upgraded further (upgrade together).
/** Kind + probe id. */
export const PROBE_BYTES = 5;
/** Kind + id + an IPv6 endpoint (1 + 16 + 2). */
export const PROBE_REPLY_MAX_BYTES = PROBE_BYTES + 19;
