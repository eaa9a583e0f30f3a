// Many overlayd daemons on one lab, as lab-scale drives them: one persistent control connection per
// daemon (reconnecting 100 sockets for every poll would cost the daemons more than the poll tells),
// `overview` calls to all of them a few at a time, and waiting until every daemon satisfies a
// condition.
import { ControlClient } from '../../src/control/client.js';
import type { ControlPlaneStatus, NodeStatus } from '../../src/control/status.js';
import type { OverlayLab } from '../../test/lab/overlay-lab.js';

const CONCURRENCY = 16;
const CALL_TIMEOUT_MS = 15_000;

export type Overviews = Map<string, ControlPlaneStatus | null>;

export class Fleet {
  private readonly clients = new Map<string, ControlClient>();

  constructor(
    readonly ol: OverlayLab,
    readonly names: readonly string[],
  ) {}

  pid(name: string): number | undefined {
    return this.ol.site(name).process?.pid;
  }

  /** A daemon's answer to `method`, or null if it is not (yet) answering. */
  async call<T>(name: string, method: string): Promise<T | null> {
    try {
      let c = this.clients.get(name);
      if (!c) {
        c = await ControlClient.connect(this.ol.site(name).socket, CALL_TIMEOUT_MS);
        this.clients.set(name, c);
      }
      return await c.call<T>(method, {}, CALL_TIMEOUT_MS);
    } catch {
      this.drop(name);
      return null;
    }
  }

  status(name: string): Promise<NodeStatus | null> {
    return this.call<NodeStatus>(name, 'status');
  }

  /** `overview` of every daemon (null for one that did not answer), CONCURRENCY at a time. */
  async overviews(names: readonly string[] = this.names): Promise<Overviews> {
    const out: Overviews = new Map();
    for (let i = 0; i < names.length; i += CONCURRENCY) {
      const batch = names.slice(i, i + CONCURRENCY);
      const answers = await Promise.all(batch.map((n) => this.call<ControlPlaneStatus>(n, 'overview')));
      batch.forEach((n, k) => out.set(n, answers[k] ?? null));
    }
    return out;
  }

  /**
   * Polls every daemon until `ok(name, overview)` holds for all of them; returns the ms it took from
   * `since` (performance.now()), or null after `timeoutMs`. `onPoll` sees each round (progress).
   */
  async waitAll(
    ok: (name: string, o: ControlPlaneStatus) => boolean,
    since: number,
    timeoutMs: number,
    onPoll?: (good: number, total: number, all: Overviews) => void,
    intervalMs = 500,
  ): Promise<number | null> {
    const deadline = since + timeoutMs;
    for (;;) {
      const all = await this.overviews();
      let good = 0;
      for (const [name, o] of all) if (o && ok(name, o)) good++;
      onPoll?.(good, all.size, all);
      if (good === all.size) return performance.now() - since;
      if (performance.now() > deadline) return null;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }

  close(): void {
    for (const name of [...this.clients.keys()]) this.drop(name);
  }

  private drop(name: string): void {
    this.clients.get(name)?.close();
    this.clients.delete(name);
  }
}
