// The CLI's end of the control socket: one request, or a stream of events for --watch.
import { existsSync } from 'node:fs';
import WebSocket from 'ws';
import { OverlayError } from '../errors.js';
import type { ControlEvent, ControlResponse } from './protocol.js';

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, (res: ControlResponse) => void>();
  private readonly eventHandlers = new Set<(e: ControlEvent) => void>();

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      const msg = JSON.parse(raw.toString()) as ControlResponse | ControlEvent;
      if ('event' in msg) {
        for (const h of this.eventHandlers) h(msg);
        return;
      }
      this.pending.get(msg.id)?.(msg);
      this.pending.delete(msg.id);
    });
    ws.on('close', () => {
      for (const resolve of this.pending.values()) {
        resolve({
          id: -1,
          error: { code: 'ERR_CONTROL', message: 'the daemon closed the control connection' },
        });
      }
      this.pending.clear();
    });
  }

  static async connect(socketPath: string, timeoutMs = 3000): Promise<ControlClient> {
    if (!existsSync(socketPath)) throw notRunning(socketPath, 'no control socket');
    const ws = new WebSocket(`ws+unix://${socketPath}:/`, { handshakeTimeout: timeoutMs });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EACCES' || err.code === 'EPERM') {
          reject(
            new OverlayError(
              'ERR_CONTROL',
              `permission denied on ${socketPath}: run as root (or the daemon's user)`,
            ),
          );
        } else reject(notRunning(socketPath, err.code ?? err.message));
      });
    });
    return new ControlClient(ws);
  }

  async call<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++;
    const res = await new Promise<ControlResponse>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({
          id,
          error: { code: 'ERR_CONTROL', message: `no answer to ${method} within ${timeoutMs} ms` },
        });
      }, timeoutMs);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
    if (res.error)
      throw new OverlayError(
        res.error.code === 'ERR_CONFIG' ? 'ERR_CONFIG' : 'ERR_CONTROL',
        res.error.message,
      );
    return res.result as T;
  }

  onEvent(handler: (e: ControlEvent) => void): void {
    this.eventHandlers.add(handler);
  }

  close(): void {
    this.ws.close();
  }
}

function notRunning(path: string, why: string): OverlayError {
  return new OverlayError(
    'ERR_CONTROL',
    `overlayd is not running (${why} at ${path}); start it with 'overlayd up', or pass --socket`,
  );
}
