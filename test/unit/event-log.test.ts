// The event log: one structured line per event that parses back, and a budget per (event, member) so
// a flood of failures writes a few lines, then says how many it left out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, EVENT_BURST, EVENT_REFILL_MS, EventLog, parseEvent } from '../../src/log.js';

function capture(): { lines: string[]; events: EventLog; clock: { t: number } } {
  const lines: string[] = [];
  const clock = { t: 0 };
  return {
    lines,
    clock,
    events: new EventLog(
      createLogger('debug', (l) => lines.push(l), 'event'),
      () => clock.t,
    ),
  };
}

test('a line carries the sentence and parseable fields', () => {
  const { lines, events } = capture();
  events.emit(
    'warn',
    'link-down',
    'b',
    { probes_lost: 3, loss: 0.6666666, why: 'two words', none: undefined },
    'link to b down',
  );
  assert.match(
    lines[0],
    / warn event: link to b down event=link-down member=b probes_lost=3 loss=0\.667 why="two words"$/,
  );
  assert.deepEqual(parseEvent(lines[0]), {
    event: 'link-down',
    fields: { event: 'link-down', member: 'b', probes_lost: '3', loss: '0.667', why: 'two words' },
  });
  assert.equal(parseEvent('2026 info route: no fields here'), undefined);
});

test('a flood is cut to the burst, per event and member, and the next line counts what was left out', () => {
  const { lines, events, clock } = capture();
  for (let i = 0; i < 1000; i++) events.emit('warn', 'handshake-failed', 'x', { reason: 'key-rejected' });
  events.emit('warn', 'handshake-failed', 'y', { reason: 'no-reply' }); // another member: own budget
  assert.equal(lines.length, EVENT_BURST + 1);
  assert.equal(events.suppressedTotal, 1000 - EVENT_BURST);
  clock.t += EVENT_REFILL_MS;
  events.emit('warn', 'handshake-failed', 'x', { reason: 'key-rejected' });
  assert.equal(parseEvent(lines.at(-1) ?? '')?.fields.suppressed, String(1000 - EVENT_BURST));
});
