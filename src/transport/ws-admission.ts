// Which inbound WebSocket connections are let in. Anyone can open a TCP connection, so the caps stop a
// stranger from holding sockets (and memory) the members need: a total cap, a smaller cap on
// connections that have not yet carried an authenticated packet, and a per-source-address cap on
// those. An unauthenticated connection is closed after `authTimeoutMs` (ws-transport.ts sweeps), so a
// flood holds its share for a few seconds at most, while members' authenticated connections stay.

export interface WsAdmissionLimits {
  maxConnections: number;
  maxUnauthenticated: number;
  maxUnauthenticatedPerHost: number;
}

export const DEFAULT_WS_ADMISSION: Readonly<WsAdmissionLimits> = Object.freeze({
  maxConnections: 256,
  maxUnauthenticated: 64,
  maxUnauthenticatedPerHost: 4,
});

export type AdmissionVerdict = 'ok' | 'too-many' | 'too-many-unauthenticated' | 'too-many-from-host';

export class WsAdmission {
  private total = 0;
  private unauthenticated = 0;
  private readonly unauthByHost = new Map<string, number>();

  constructor(private readonly limits: WsAdmissionLimits = DEFAULT_WS_ADMISSION) {}

  /** A connection from `host` asks to be accepted; 'ok' counts it in. */
  admit(host: string): AdmissionVerdict {
    if (this.total >= this.limits.maxConnections) return 'too-many';
    if (this.unauthenticated >= this.limits.maxUnauthenticated) return 'too-many-unauthenticated';
    const fromHost = this.unauthByHost.get(host) ?? 0;
    if (fromHost >= this.limits.maxUnauthenticatedPerHost) return 'too-many-from-host';
    this.total++;
    this.unauthenticated++;
    this.unauthByHost.set(host, fromHost + 1);
    return 'ok';
  }

  /** An admitted connection from `host` carried an authenticated packet. */
  authenticated(host: string): void {
    this.unauthenticated--;
    this.release(host);
  }

  /** An admitted connection from `host` closed. */
  closed(host: string, wasAuthenticated: boolean): void {
    this.total--;
    if (wasAuthenticated) return;
    this.unauthenticated--;
    this.release(host);
  }

  get connections(): number {
    return this.total;
  }

  get unauthenticatedConnections(): number {
    return this.unauthenticated;
  }

  private release(host: string): void {
    const n = (this.unauthByHost.get(host) ?? 1) - 1;
    if (n > 0) this.unauthByHost.set(host, n);
    else this.unauthByHost.delete(host);
  }
}
