import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  BINDING_TTL_MS,
  EndpointBindings,
  HANDSHAKE_PROOF_MS,
  MAX_PER_MEMBER,
} from '../../src/forward/endpoint-bindings.js';

test('an address proven for one member is not rebound to another while the proof is live', () => {
  const b = new EndpointBindings();
  assert.equal(b.bind('10.0.0.2:7946', 2, 0), 'bound');
  assert.equal(b.bind('10.0.0.2:7946', 3, 1000), 'conflict');
  assert.equal(b.memberAt('10.0.0.2:7946', 1000), 2);
  assert.equal(b.bind('10.0.0.2:7946', 2, 20_000), 'refreshed', 'a new proof extends it');
  assert.equal(b.bind('10.0.0.2:7946', 3, 20_000 + BINDING_TTL_MS - 1), 'conflict');
  // Not re-proven for a whole TTL (the member moved away): the address may belong to someone else now.
  assert.equal(b.memberAt('10.0.0.2:7946', 20_000 + BINDING_TTL_MS), undefined);
  assert.equal(b.bind('10.0.0.2:7946', 3, 20_000 + BINDING_TTL_MS), 'bound');
  assert.equal(b.memberAt('10.0.0.2:7946', 20_000 + BINDING_TTL_MS), 3);
});

test('bindings per member are capped (the oldest proof makes room) and expired ones are swept', () => {
  const b = new EndpointBindings();
  for (let i = 0; i < 100; i++) b.bind(`10.0.${i}.1:7946`, 2, i);
  assert.equal(b.size, MAX_PER_MEMBER);
  assert.equal(b.memberAt('10.0.0.1:7946', 100), undefined, 'oldest gone');
  assert.equal(b.memberAt('10.0.99.1:7946', 100), 2);
  b.bind('10.9.9.9:1', 3, 50_000);
  b.sweep(50_000);
  assert.equal(b.size, MAX_PER_MEMBER + 1, 'proofs within the handshake horizon stay');
  b.sweep(HANDSHAKE_PROOF_MS + 100);
  assert.equal(b.size, 1, 'only the recent one stays');
  b.forget(3);
  assert.equal(b.size, 0);
});

test('onChange reports each address as it gets a binding and as it loses it, whatever the reason', () => {
  const b = new EndpointBindings();
  const events: string[] = [];
  b.onChange((key, bound) => events.push(`${bound ? '+' : '-'}${key}`));
  b.bind('10.0.0.1:7946', 2, 0);
  b.bind('10.0.0.1:7946', 2, 1000); // refreshed: no change
  b.bind('10.0.0.1:7946', 3, 1000); // conflict: no change
  b.bind('10.0.0.1:7946', 3, 1000 + BINDING_TTL_MS); // expired proof rebound to another member
  for (let i = 0; i < MAX_PER_MEMBER; i++) b.bind(`10.0.1.${i}:7946`, 4, 2000 + i); // the oldest makes room
  b.bind('10.0.1.99:7946', 4, 3000);
  b.sweep(1000 + BINDING_TTL_MS + HANDSHAKE_PROOF_MS); // everything past the handshake horizon
  b.bind('10.0.2.1:7946', 5, 2 * HANDSHAKE_PROOF_MS);
  b.forget(5);
  const key = (i: number): string => `10.0.1.${i}:7946`;
  assert.deepEqual(events, [
    '+10.0.0.1:7946',
    '-10.0.0.1:7946',
    '+10.0.0.1:7946',
    ...Array.from({ length: MAX_PER_MEMBER }, (_, i) => `+${key(i)}`),
    `-${key(0)}`,
    '+10.0.1.99:7946',
    '-10.0.0.1:7946',
    ...Array.from({ length: MAX_PER_MEMBER - 1 }, (_, i) => `-${key(i + 1)}`),
    '-10.0.1.99:7946',
    '+10.0.2.1:7946',
    '-10.0.2.1:7946',
  ]);
  assert.equal(b.size, 0);
});

test('a proof lets the address into the members’ handshake lane for HANDSHAKE_PROOF_MS, but routing trusts it only BINDING_TTL_MS', () => {
  const b = new EndpointBindings();
  const events: string[] = [];
  b.onChange((key, bound) => events.push(`${bound ? '+' : '-'}${key}`));
  b.bind('10.0.0.1:7946', 2, 0);
  // A member away for a minute: routing no longer vouches for the address, handshakes still do.
  assert.equal(b.memberAt('10.0.0.1:7946', 60_000), undefined);
  assert.equal(b.handshakeMemberAt('10.0.0.1:7946', 60_000), 2);
  b.sweep(60_000);
  assert.deepEqual(events, ['+10.0.0.1:7946'], 'still in the transport’s proven table');
  // Another member may claim it once routing's proof is stale; the old member's handshake claim goes.
  assert.equal(b.bind('10.0.0.1:7946', 3, 60_000), 'bound');
  assert.equal(b.handshakeMemberAt('10.0.0.1:7946', 60_000), 3);
  assert.equal(b.handshakeMemberAt('10.0.0.1:7946', 60_000 + HANDSHAKE_PROOF_MS), undefined);
  b.sweep(60_000 + HANDSHAKE_PROOF_MS);
  assert.deepEqual(events, ['+10.0.0.1:7946', '-10.0.0.1:7946', '+10.0.0.1:7946', '-10.0.0.1:7946']);
  assert.equal(b.size, 0);
});
