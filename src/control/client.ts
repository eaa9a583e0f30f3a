// The CLI's end of the control socket: one request, or a stream of events for --watch.
//
// Whatever arrives on the socket is parsed defensively: a reply that is not JSON, or not a reply,
// ends the calls waiting on it with ERR_CONTROL (one clear line from the CLI, non-zero exit), never an
// exception thrown out of a socket callback.
import { existsSync } from 'node:fs';
import WebSocket from 'ws';
import { OverlayError, type ErrorCode } from '../errors.js';
import type { ControlEvent, ControlResponse } from './protocol.js';
import { absoluteSocketPath } from './socket-path.js';

/** Error codes a daemon's answer keeps (they set the CLI's exit status); anything else is ERR_CONTROL. */
const PASSED_THROUGH: ReadonlySet<string> = new Set<ErrorCode>(['ERR_CONFIG', 'ERR_USAGE', 'ERR_NOT_MEMBER']);

type Incoming = { kind: 'response'; msg: ControlResponse } | { kind: 'event'; msg: ControlEvent };

function decode(raw: string): Incoming | string {
  let msg: unknown;
  try {
    msg = JSON.parse(raw);
  } catch {
    const shown = raw.length > 60 ? `${raw.slice(0, 60)}…` : raw;
    return `the reply is not valid JSON (${JSON.stringify(shown)})`;
  }
  if (msg === null || typeof msg !== 'object') return `the reply is not a JSON object`;
  const m = msg as Record<string, unknown>;
  if (typeof m.event === 'string') return { kind: 'event', msg: { event: m.event, data: m.data } };
  if (typeof m.id !== 'number') return `the reply has no request id`;
  const error = m.error as { code?: unknown; message?: unknown } | undefined;
  if (
    error !== undefined &&
    (typeof error !== 'object' || error === null || typeof error.message !== 'string')
  ) {
    return `the reply's error is malformed`;
  }
  return { kind: 'response', msg: m as unknown as ControlResponse };
}

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, (res: ControlResponse) => void>();
  private readonly eventHandlers = new Set<(e: ControlEvent) => void>();
  private broken: string | undefined;

  private constructor(
    private readonly ws: WebSocket,
    private readonly path: string,
  ) {
    ws.on('message', (raw) => {
      const incoming = decode(raw.toString());
      if (typeof incoming === 'string') {
        this.fail(`${incoming}; is ${this.path} an overlayd control socket?`);
        ws.terminate();
        return;
      }
      if (incoming.kind === 'event') {
        for (const h of this.eventHandlers) h(incoming.msg);
        return;
      }
      // id -1: the daemon could not read our request at all; it belongs to whichever call is waiting.
      const id = incoming.msg.id === -1 ? this.pending.keys().next().value : incoming.msg.id;
      if (id === undefined) return;
      this.pending.get(id)?.(incoming.msg);
      this.pending.delete(id);
    });
    ws.on('error', (err) => this.fail(`control connection failed: ${err.message}`));
    ws.on('close', () => this.fail('the daemon closed the control connection'));
  }

  /** Connects to the daemon's socket; a relative path is taken from the working directory. */
  static async connect(socketPath: string, timeoutMs = 3000): Promise<ControlClient> {
    const path = absoluteSocketPath(socketPath);
    if (!existsSync(path)) throw notRunning(path, 'no control socket');
    const ws = new WebSocket(`ws+unix://${path}:/`, { handshakeTimeout: timeoutMs });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'EACCES' || err.code === 'EPERM') {
          reject(
            new OverlayError(
              'ERR_CONTROL',
              `permission denied on ${path}: run as root (or the daemon's user)`,
            ),
          );
        } else reject(notRunning(path, err.code ?? err.message));
      });
    });
    return new ControlClient(ws, path);
  }

  async call<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++;
    const res = await new Promise<ControlResponse>((resolve) => {
      if (this.broken !== undefined) return resolve(brokenResponse(id, this.broken));
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
    if (res.error) {
      const code = PASSED_THROUGH.has(res.error.code) ? (res.error.code as ErrorCode) : 'ERR_CONTROL';
      throw new OverlayError(code, res.error.message);
    }
    return res.result as T;
  }

  onEvent(handler: (e: ControlEvent) => void): void {
    this.eventHandlers.add(handler);
  }

  close(): void {
    this.ws.close();
  }

  /** Ends every waiting call with `why`; later calls fail at once. */
  private fail(why: string): void {
    this.broken ??= why;
    for (const [id, resolve] of this.pending) resolve(brokenResponse(id, this.broken));
    this.pending.clear();
  }
}

function brokenResponse(id: number, why: string): ControlResponse {
  return { id, error: { code: 'ERR_CONTROL', message: why } };
}

function notRunning(path: string, why: string): OverlayError {
  return new OverlayError(
    'ERR_CONTROL',
    `overlayd is not running (${why} at ${path}); start it with 'overlayd up', or pass --socket`,
  );
}
