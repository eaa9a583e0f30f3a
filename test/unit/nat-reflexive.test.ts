import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReflexiveTable } from '../../src/nat/reflexive-table.js';

describe('reflexive endpoint bookkeeping', () => {
  it('publishes an endpoint once one member reports it, and says when the set changed', () => {
    const t = new ReflexiveTable();
    assert.equal(t.observe(1, '198.51.100.7:40001', 0), true);
    assert.deepEqual(t.published(), ['198.51.100.7:40001']);
    assert.equal(t.observe(1, '198.51.100.7:40001', 500), false, 'the same observation again is no news');
    assert.equal(
      t.observe(2, '198.51.100.7:40001', 600),
      false,
      'a second observer of it changes nothing published',
    );
  });

  it('with minObservers 2 a single member’s claim is not published', () => {
    const t = new ReflexiveTable({ minObservers: 2 });
    t.observe(1, '198.51.100.7:40001', 0);
    assert.deepEqual(t.published(), []);
    t.observe(2, '198.51.100.7:40001', 10);
    assert.deepEqual(t.published(), ['198.51.100.7:40001']);
  });

  it('one member holds one observation: a liar cannot fill the table with lies', () => {
    const t = new ReflexiveTable({ maxPublished: 2 });
    for (let i = 0; i < 100; i++) t.observe(9, `203.0.113.${i}:1000`, i);
    assert.equal(t.size, 1);
    assert.deepEqual(t.published(), ['203.0.113.99:1000']);
  });

  it('endpoints several members agree on outrank a lie when the slots are few', () => {
    const t = new ReflexiveTable({ maxPublished: 1 });
    t.observe(9, '203.0.113.66:6666', 0); // the liar first
    t.observe(1, '198.51.100.7:40001', 1);
    t.observe(2, '198.51.100.7:40001', 2);
    assert.deepEqual(t.published(), ['198.51.100.7:40001']);
  });

  it('never publishes a listed endpoint as reflexive', () => {
    const t = new ReflexiveTable();
    t.setListed(['192.0.2.1:7946']);
    assert.equal(t.observe(1, '192.0.2.1:7946', 0), false);
    assert.deepEqual(t.published(), []);
  });

  it('observations expire after ttlMs, and the table is capped at maxObservers', () => {
    const t = new ReflexiveTable({ ttlMs: 1000, maxObservers: 3 });
    for (let id = 1; id <= 5; id++) t.observe(id, `198.51.100.${id}:1`, id);
    assert.equal(t.size, 3, 'the oldest observers made room');
    assert.equal(t.sweep(2000), true);
    assert.equal(t.size, 0);
    assert.deepEqual(t.published(), []);
  });

  it('a member that leaves takes its observation with it', () => {
    const t = new ReflexiveTable();
    t.observe(4, '198.51.100.4:9', 0);
    assert.equal(t.forget(4, 1), true);
    assert.deepEqual(t.published(), []);
  });
});
