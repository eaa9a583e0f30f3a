import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointBytes, readEndpoint, writeEndpoint } from '../../src/nat/endpoint-bytes.js';
import { KeepaliveSchedule } from '../../src/nat/keepalive-schedule.js';
import { decodePunch, encodePunch, PUNCH_MAX_ENDPOINTS, PunchType } from '../../src/nat/punch-message.js';
import { PunchScheduler } from '../../src/nat/punch-scheduler.js';

describe('endpoint bytes', () => {
  it('round-trips IPv4 and IPv6 endpoints in the transport’s key form', () => {
    const out = new Uint8Array(40);
    let o = writeEndpoint(out, 0, '198.51.100.7:40001');
    assert.equal(o, 7);
    o = writeEndpoint(out, o, '[2001:db8::5]:7946');
    assert.equal(o, 26);
    const a = readEndpoint(out, 0, o);
    assert.deepEqual(a, { key: '198.51.100.7:40001', next: 7 });
    assert.deepEqual(readEndpoint(out, 7, o), { key: '[2001:db8::5]:7946', next: 26 });
    assert.equal(endpointBytes('[2001:db8::5]:7946'), 19);
    assert.equal(endpointBytes('example.com:1'), 0);
  });

  it('refuses truncated, unknown-family and port-0 endpoints', () => {
    const out = new Uint8Array(7);
    writeEndpoint(out, 0, '198.51.100.7:1');
    assert.equal(readEndpoint(out, 0, 6), undefined, 'one byte short');
    assert.equal(readEndpoint(Uint8Array.from([5, 1, 2, 3, 4, 0, 1]), 0, 7), undefined);
    assert.equal(readEndpoint(Uint8Array.from([4, 1, 2, 3, 4, 0, 0]), 0, 7), undefined);
    assert.equal(writeEndpoint(new Uint8Array(6), 0, '198.51.100.7:1'), -1, 'no room');
  });

  it('gives the same answers once memoized, past the memo’s bound, and never lets a caller change it', () => {
    const out = new Uint8Array(19);
    for (let round = 0; round < 2; round++) {
      // 3000 distinct endpoints: the memo (1024) is emptied twice a round; every answer stays exact.
      for (let i = 0; i < 3000; i++) {
        const key =
          i % 2
            ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}:${1 + i}`
            : `[fd00::${(i + 1).toString(16)}]:${1 + i}`;
        const next = writeEndpoint(out, 0, key);
        assert.equal(next, i % 2 ? 7 : 19);
        assert.deepEqual(readEndpoint(out, 0, next), { key, next });
        out.fill(0xff); // scribbling on what was written must not reach the memo
        assert.equal(readEndpoint(out, 0, 19), undefined, 'family 255');
      }
    }
    const bad = Uint8Array.from([4, 1, 2, 3, 4, 0, 0]);
    assert.equal(readEndpoint(bad, 0, 7), undefined);
    assert.equal(readEndpoint(bad, 0, 7), undefined, 'a refusal is memoized as one');
    assert.equal(writeEndpoint(out, 0, 'not-an-endpoint'), -1);
    assert.equal(writeEndpoint(out, 0, 'not-an-endpoint'), -1);
  });
});

describe('punch messages', () => {
  it('round-trip, capped at PUNCH_MAX_ENDPOINTS', () => {
    const many = Array.from({ length: 9 }, (_, i) => `198.51.100.${i + 1}:${1000 + i}`);
    const buf = encodePunch({ type: PunchType.Request, nonce: 0xdeadbeef, endpoints: many });
    const got = decodePunch(buf, 0, buf.length);
    assert.ok(got !== 'bad-inner');
    assert.equal(got.type, PunchType.Request);
    assert.equal(got.nonce, 0xdeadbeef);
    assert.deepEqual(got.endpoints, many.slice(0, PUNCH_MAX_ENDPOINTS));
  });

  it('malformed ones are bad-inner: a count beyond the bytes, trailing bytes, an unknown type', () => {
    const buf = encodePunch({ type: PunchType.Answer, nonce: 1, endpoints: ['198.51.100.1:1'] });
    assert.equal(decodePunch(buf, 0, buf.length - 1), 'bad-inner');
    const longer = Buffer.concat([buf, Buffer.from([0])]);
    assert.equal(decodePunch(longer, 0, longer.length), 'bad-inner');
    const badType = Buffer.from(buf);
    badType[1] = 9;
    assert.equal(decodePunch(badType, 0, badType.length), 'bad-inner');
    const badCount = Buffer.from(buf);
    badCount[6] = 200;
    assert.equal(decodePunch(badCount, 0, badCount.length), 'bad-inner');
  });
});

describe('punch scheduling', () => {
  it('one attempt at a time per member; a failure backs off, doubling', () => {
    const s = new PunchScheduler({ retryMs: 1000, maxRetryMs: 4000, timeoutMs: 500 });
    assert.equal(s.due(7, 0), true);
    s.started(7, 1, 0);
    assert.equal(s.due(7, 100), false, 'pending');
    assert.deepEqual(s.expire(499), []);
    assert.deepEqual(s.expire(500), [7]);
    assert.equal(s.due(7, 1499), false);
    assert.equal(s.due(7, 1500), true);
    s.started(7, 2, 1500);
    s.expire(2000);
    assert.equal(s.due(7, 3999), false, 'the second failure waits 2 s');
    assert.equal(s.due(7, 4000), true);
    assert.equal(s.counts.failed, 2);
  });

  it('the link coming up is a success with the time it took, and resets the backoff', () => {
    const s = new PunchScheduler({ retryMs: 1000, timeoutMs: 5000 });
    s.started(3, 9, 100);
    assert.equal(s.answerMatches(3, 8), false, 'an answer to another nonce is not ours');
    assert.equal(s.answerMatches(3, 9), true);
    assert.equal(s.linkUp(3, 420), 320);
    assert.equal(s.linkUp(3, 500), undefined, 'nothing pending any more');
    assert.deepEqual(s.successMs, [320]);
    assert.equal(s.counts.success, 1);
  });

  it('starts at most attemptsPerSecond attempts over all members', () => {
    const s = new PunchScheduler({ attemptsPerSecond: 2 });
    let started = 0;
    for (let id = 1; id <= 10; id++) {
      if (!s.due(id, 0)) continue;
      s.started(id, id, 0);
      started++;
    }
    assert.equal(started, 2);
  });

  it('rate-limits punch requests per member and overall', () => {
    const s = new PunchScheduler({ incomingBurst: 2, incomingPerMinute: 6, incomingPerSecond: 3 });
    const fromOne = Array.from({ length: 50 }, (_, i) => s.allowIncoming(1, i)).filter(Boolean).length;
    assert.equal(fromOne, 2, 'a flood from one member gets its burst');
    assert.equal(s.allowIncoming(1, 10_000), true, 'one more after 10 s (6 a minute)');
    const others = [2, 3, 4, 5].filter((id) => s.allowIncoming(id, 10_001)).length;
    assert.equal(others, 2, 'the shared bucket bounds many members at once');
    assert.ok(s.counts.rateLimited > 45);
  });
});

describe('NAT keepalives', () => {
  it('only for links through a NAT that are in use or were used recently, every interval', () => {
    const k = new KeepaliveSchedule(25_000, 120_000);
    const nat = { member: 1, throughNat: true, inUse: true };
    const listed = { member: 2, throughNat: false, inUse: true };
    const idle = { member: 3, throughNat: true, inUse: false };
    assert.deepEqual(k.due([nat, listed, idle], false, 0), [1]);
    assert.deepEqual(k.due([nat, listed, idle], false, 10_000), [], 'not before the interval');
    assert.deepEqual(k.due([{ ...nat, inUse: false }, listed, idle], false, 25_000), [1], 'recently used');
    assert.deepEqual(k.due([{ ...nat, inUse: false }], false, 150_000), [], 'unused for over 2 min');
    assert.deepEqual(k.due([listed], true, 150_000), [2], 'behind a NAT ourselves, a listed link too');
    assert.equal(k.size, 1, 'members without a link are forgotten');
  });
});
