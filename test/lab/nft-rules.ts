// Underlay impairments as nftables rules in the wan namespace: one `table inet lab` with one chain in the
// forward hook. Every impairment is a few rules whose handles we keep, so undoing it deletes exactly those
// rules and nothing a test added by hand.
import { inNs, runChecked } from './netns.js';
import { EMULATOR_TUN, type LabSite } from './lab-plan.js';

const TABLE = 'lab';
const CHAIN = 'forward';

export interface PairTraffic {
  from: string;
  to: string;
  packets: number;
  bytes: number;
}

interface NftJsonRule {
  comment?: string;
  expr: Array<{ counter?: { packets: number; bytes: number } }>;
}

/** One direction of traffic between two sites, as nft match expressions for each family in use. */
function directionMatches(from: LabSite, to: LabSite): string[] {
  const m = [`ip saddr ${from.prefix4} ip daddr ${to.prefix4}`];
  if (from.prefix6 && to.prefix6) m.push(`ip6 saddr ${from.prefix6} ip6 daddr ${to.prefix6}`);
  return m;
}

export class NftImpairments {
  constructor(private readonly ns: string) {}

  /**
   * Creates the table. Right after the emulator rule come one counting rule per ordered site pair (per
   * family), ahead of every impairment rule: they count what x sent toward y, whether or not the wan then
   * drops it, so a test can tell which underlay paths an overlay actually used (see pairCounters).
   */
  async init(sites: readonly LabSite[], pairCounters = true): Promise<void> {
    const counting: string[] = [];
    // N·(N-1) rules that every forwarded packet walks through: at 100 sites, ~10 000 rule evaluations
    // per packet in the wan's softirq. Labs that big turn them off (LabOptions.pairCounters).
    for (const x of pairCounters ? sites : []) {
      for (const y of sites) {
        if (x === y) continue;
        for (const m of directionMatches(x, y))
          counting.push(`    ${m} counter comment "pair ${x.name}>${y.name}"`);
      }
    }
    // Packets the delay emulator writes back re-enter the forward hook from its TUN; they were judged and
    // counted on their first pass (site → wan), so they are accepted at once. Otherwise a loss rule would
    // apply twice.
    await this.nft(
      [
        `table inet ${TABLE} {`,
        `  chain ${CHAIN} {`,
        '    type filter hook forward priority 0; policy accept;',
        `    iifname "${EMULATOR_TUN}" accept`,
        ...counting,
        '  }',
        '}',
      ].join('\n'),
    );
  }

  /** Packets and bytes each ordered pair of sites has sent through the wan (v4 + v6), since init. */
  async pairCounters(): Promise<PairTraffic[]> {
    const out = await runChecked(inNs(this.ns, ['nft', '-j', 'list', 'chain', 'inet', TABLE, CHAIN]));
    const doc = JSON.parse(out) as { nftables: Array<{ rule?: NftJsonRule }> };
    const sums = new Map<string, PairTraffic>();
    for (const { rule } of doc.nftables) {
      const m = rule?.comment ? /^pair (\w+)>(\w+)$/.exec(rule.comment) : null;
      const counter = rule?.expr.find((e) => e.counter)?.counter;
      if (!m || !counter) continue;
      const key = `${m[1]}>${m[2]}`;
      const t = sums.get(key) ?? { from: m[1]!, to: m[2]!, packets: 0, bytes: 0 };
      t.packets += counter.packets;
      t.bytes += counter.bytes;
      sums.set(key, t);
    }
    return [...sums.values()];
  }

  /** Drops everything between a and b, both directions, v4 and v6. Returns the rule handles. */
  cut(a: LabSite, b: LabSite): Promise<number[]> {
    const rules = [
      ...directionMatches(a, b).map((m) => `${m} counter drop comment "cut ${a.name}>${b.name}"`),
      ...directionMatches(b, a).map((m) => `${m} counter drop comment "cut ${b.name}>${a.name}"`),
    ];
    return this.addRules(rules);
  }

  /**
   * Drops `percent` % of packets in each direction independently, so a round trip (ping) is lost with
   * probability 1 - (1 - p)², e.g. 30 % → 51 %.
   */
  loss(a: LabSite, b: LabSite, percent: number): Promise<number[]> {
    const n = Math.round(percent);
    const rules = [
      ...directionMatches(a, b).map(
        (m) => `${m} numgen random mod 100 < ${n} counter drop comment "loss ${a.name}>${b.name}"`,
      ),
      ...directionMatches(b, a).map(
        (m) => `${m} numgen random mod 100 < ${n} counter drop comment "loss ${b.name}>${a.name}"`,
      ),
    ];
    return this.addRules(rules);
  }

  /**
   * Drops everything between sites in different groups: one set of site prefixes per group and one
   * rule per ordered pair of groups and family, however many sites (a partition of 100 sites is a
   * handful of rules added at once, not thousands of pair cuts added one by one). Returns what
   * removePartition needs.
   */
  async partition(groups: readonly (readonly LabSite[])[]): Promise<{ handles: number[]; sets: string[] }> {
    const sets: string[] = [];
    const decl: string[] = [];
    const family = (g: readonly LabSite[], f: 4 | 6): string[] =>
      g.flatMap((s) => (f === 4 ? [s.prefix4] : s.prefix6 ? [s.prefix6] : []));
    const v6 = groups.every((g) => family(g, 6).length === g.length);
    groups.forEach((g, i) => {
      for (const f of v6 ? ([4, 6] as const) : ([4] as const)) {
        const name = `part${f}_${i}`;
        sets.push(name);
        decl.push(
          `add set inet ${TABLE} ${name} { type ipv${f}_addr; flags interval; elements = { ${family(g, f).join(', ')} } }`,
        );
      }
    });
    await this.nft(decl.join('\n'));
    const rules: string[] = [];
    for (let i = 0; i < groups.length; i++)
      for (let j = 0; j < groups.length; j++) {
        if (i === j) continue;
        rules.push(`ip saddr @part4_${i} ip daddr @part4_${j} counter drop comment "partition ${i}>${j}"`);
        if (v6)
          rules.push(
            `ip6 saddr @part6_${i} ip6 daddr @part6_${j} counter drop comment "partition ${i}>${j}"`,
          );
      }
    return { handles: await this.addRules(rules), sets };
  }

  async removePartition(p: { handles: number[]; sets: string[] }): Promise<void> {
    await this.removeRules(p.handles);
    if (p.sets.length > 0) await this.nft(p.sets.map((n) => `delete set inet ${TABLE} ${n}`).join('\n'));
  }

  /** Adds rules (nft rule syntax, without the "add rule <table> <chain>" prefix) atomically. */
  async addRules(rules: readonly string[]): Promise<number[]> {
    if (rules.length === 0) return [];
    const script = rules.map((r) => `add rule inet ${TABLE} ${CHAIN} ${r}`).join('\n');
    const out = await runChecked(inNs(this.ns, ['nft', '--echo', '--handle', '-f', '-']), {
      input: script + '\n',
    });
    // The echo repeats each added rule ending in "# handle N", in the order given.
    const handles = out
      .split('\n')
      .filter((l) => l.startsWith('add rule'))
      .map((l) => Number(/# handle (\d+)\s*$/.exec(l)?.[1]));
    if (handles.length !== rules.length || handles.some((h) => !Number.isInteger(h))) {
      throw new Error(`could not read rule handles from nft output: ${out}`);
    }
    return handles;
  }

  async removeRules(handles: readonly number[]): Promise<void> {
    if (handles.length === 0) return;
    await this.nft(handles.map((h) => `delete rule inet ${TABLE} ${CHAIN} handle ${h}`).join('\n'));
  }

  /** The table as text with handles and counters, for debugging a failing test. */
  async list(): Promise<string> {
    return runChecked(inNs(this.ns, ['nft', '-a', 'list', 'table', 'inet', TABLE]));
  }

  private async nft(script: string): Promise<void> {
    await runChecked(inNs(this.ns, ['nft', '-f', '-']), { input: script + '\n' });
  }
}
