// Metrics whose values are read from the node at scrape time. The daemon keeps plain numbers (see
// forward/counters.ts, routing/router-stats.ts); a metric here is a name, a help text and a function
// that lists the current samples. Each scrape starts from an empty metric, so a member removed by a
// reload, or a destination that became unreachable, simply stops being exported.
import { Counter, Gauge, type Registry } from 'prom-client';

/** One exported sample: its label values and its value. */
export type Sample<L extends string> = readonly [labels: Record<L, string>, value: number];

export interface CollectedMetric<L extends string> {
  registry: Registry;
  name: string;
  help: string;
  labelNames: readonly L[];
  /** Called once per scrape; must not throw (a throw turns the whole scrape into a 500). */
  read: () => Iterable<Sample<L>>;
}

/** A gauge set from `read()` at every scrape. */
export function collectedGauge<L extends string>(m: CollectedMetric<L>): Gauge<L> {
  const { read } = m;
  return new Gauge<L>({
    name: m.name,
    help: m.help,
    labelNames: m.labelNames,
    registers: [m.registry],
    collect(this: Gauge<L>) {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

/**
 * A counter whose running total lives in the daemon; `read()` returns totals, never increments. The
 * daemon's totals only grow while the process lives, which is all Prometheus asks of a counter
 * (a restart resets them, and rate()/increase() handle that).
 */
export function collectedCounter<L extends string>(m: CollectedMetric<L>): Counter<L> {
  const { read } = m;
  return new Counter<L>({
    name: m.name,
    help: m.help,
    labelNames: m.labelNames,
    registers: [m.registry],
    collect(this: Counter<L>) {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

/** Every value of a string union, from a record the compiler checks for completeness. */
export function keysOf<K extends string>(record: Record<K, true>): K[] {
  return Object.keys(record) as K[];
}
