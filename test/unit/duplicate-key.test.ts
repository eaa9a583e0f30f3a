// Duplicate-key detection: a member's handshakes coming from two addresses in turn (two machines with
// one key) is suspected; a member that moves once, or keeps one address, is not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DuplicateKeyDetector, RETURNS_TO_SUSPECT, WINDOW_MS } from '../../src/node/duplicate-key.js';

const A = '198.51.100.1:7946';
const B = '198.51.100.2:7946';
const C = '198.51.100.3:7946';

test('A, B, A, B within the window: suspected once per episode, naming both addresses', () => {
  const d = new DuplicateKeyDetector();
  let t = 0;
  const seq = [A, B, A, B, A, B, A];
  const reports = seq.map((addr) => d.handshakeFrom(7, addr, (t += 1000)));
  assert.equal(reports.filter(Boolean).length, 1, 'reported once');
  const first = reports.findIndex(Boolean);
  assert.equal(first, 1 + RETURNS_TO_SUSPECT, 'after the second return');
  assert.deepEqual(new Set(reports[first]?.addresses), new Set([A, B]));
  assert.ok(d.suspected(7, t));
  assert.equal(d.suspected(8, t), undefined, 'other members unaffected');
  // A quiet window ends the episode; a new flap is a new report.
  t += WINDOW_MS + 1;
  assert.equal(d.suspected(7, t), undefined);
  const again = [B, A, B, A].map((addr) => d.handshakeFrom(7, addr, (t += 1000)));
  assert.equal(again.filter(Boolean).length, 1);
});

test('a member that moves (A → B → C), or stays, is not suspected', () => {
  const d = new DuplicateKeyDetector();
  let t = 0;
  for (const addr of [A, A, A, B, B, B, C, C]) assert.equal(d.handshakeFrom(1, addr, (t += 1000)), undefined);
  assert.equal(d.suspected(1, t), undefined);
});

test('moving back once after a while is not a flap: returns older than the window do not add up', () => {
  const d = new DuplicateKeyDetector();
  let t = 0;
  for (const addr of [A, B, A, B]) {
    t += WINDOW_MS; // one move per minute: a laptop between two networks, slowly
    assert.equal(d.handshakeFrom(1, addr, t), undefined);
  }
});
