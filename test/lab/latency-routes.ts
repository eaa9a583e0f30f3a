// Policy routing in the wan that steers a delayed site pair through the delay emulator's TUN.
//
// Only pairs with a configured delay are steered (`iif v-a from <a> to <b> lookup 100`): every other pair
// keeps the kernel's direct path, so throughput runs without latency do not pay for the emulator, and a
// stuck emulator can only hurt the pairs a test explicitly delayed. Matching on iif also keeps packets the
// emulator writes back (iif emu0) from looping into it again.
import { runChecked } from './netns.js';
import { EMULATOR_TUN, WAN_TABLE, type LabSite } from './lab-plan.js';

const RULE_PREF = '1000';
const TUN_QUEUE_LEN = 5000;

interface RuleSpec {
  family: '-4' | '-6';
  /** Everything after `ip -4 rule add`. */
  selector: string[];
}

/** The rules for one direction, per family in use. */
function rules(from: LabSite, to: LabSite): RuleSpec[] {
  const spec = (family: '-4' | '-6', src: string, dst: string): RuleSpec => ({
    family,
    selector: ['pref', RULE_PREF, 'iif', from.wanIf, 'from', src, 'to', dst, 'lookup', String(WAN_TABLE)],
  });
  const out = [spec('-4', from.prefix4, to.prefix4)];
  if (from.prefix6 && to.prefix6) out.push(spec('-6', from.prefix6, to.prefix6));
  return out;
}

export class LatencyRoutes {
  constructor(
    private readonly wanNs: string,
    private readonly ipv6: boolean,
  ) {}

  /** Table 100 sends everything into the emulator's TUN (which must exist and be up). */
  async init(): Promise<void> {
    // The TUN's queue (its txqueuelen, 500 by default) overflows while the emulator is busy with a burst;
    // a longer one turns those drops into a little queueing delay.
    await this.ip(['link', 'set', EMULATOR_TUN, 'txqueuelen', String(TUN_QUEUE_LEN)]);
    await this.ip(['-4', 'route', 'replace', 'default', 'dev', EMULATOR_TUN, 'table', String(WAN_TABLE)]);
    if (this.ipv6) {
      await this.ip(['-6', 'route', 'replace', 'default', 'dev', EMULATOR_TUN, 'table', String(WAN_TABLE)]);
    }
  }

  /** Steers a→b and b→a into the emulator. */
  async add(a: LabSite, b: LabSite): Promise<void> {
    for (const r of [...rules(a, b), ...rules(b, a)]) await this.ip([r.family, 'rule', 'add', ...r.selector]);
  }

  async remove(a: LabSite, b: LabSite): Promise<void> {
    for (const r of [...rules(a, b), ...rules(b, a)]) await this.ip([r.family, 'rule', 'del', ...r.selector]);
  }

  private async ip(args: string[]): Promise<void> {
    await runChecked(['ip', '-n', this.wanNs, ...args]);
  }
}
