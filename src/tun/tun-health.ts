// Whether the TUN takes our packets, told to the operator once per change: an interface set down or
// deleted under the daemon makes every write fail until it is back, and a log line per packet would be
// as bad as the crash it replaces. Pure (no timers): native-tun.ts feeds it write outcomes.
import type { Logger } from '../log.js';

export type TunState = 'up' | 'failing';

export class TunHealth {
  private current: TunState = 'up';
  private failedSince = 0;
  private failedPackets = 0;

  constructor(
    private readonly name: string,
    private readonly log: Logger,
  ) {}

  get state(): TunState {
    return this.current;
  }

  /** `packets` were refused with `error` (an errno name). Logs when the device starts failing. */
  failed(error: string, packets: number, now: number): void {
    this.failedPackets += packets;
    if (this.current === 'failing') return;
    this.current = 'failing';
    this.failedSince = now;
    const why = error === 'EIO' ? 'interface down' : error === 'EBADFD' ? 'interface deleted' : error;
    this.log.warn(
      `TUN ${this.name} refuses packets (${error}: ${why}); dropping them as tun-error until it is back`,
    );
  }

  /** A write went through. Logs when the device recovers. */
  ok(now: number): void {
    if (this.current === 'up') return;
    this.current = 'up';
    this.log.info(
      `TUN ${this.name} takes packets again after ${((now - this.failedSince) / 1000).toFixed(1)} s ` +
        `(${this.failedPackets} dropped)`,
    );
    this.failedPackets = 0;
  }
}
