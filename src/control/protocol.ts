// The control socket speaks JSON messages over a WebSocket on a unix socket (root-only by default).
//   request   { id, method, params? }
//   response  { id, result } | { id, error: { code, message } }
//   event     { event, data }          pushed to clients that called "watch"

export interface ControlRequest {
  id: number;
  method: string;
  params?: Record<string, unknown>;
}

export interface ControlResponse {
  id: number;
  result?: unknown;
  error?: { code: string; message: string };
}

export interface ControlEvent {
  event: string;
  data: unknown;
}

export const DEFAULT_SOCKET_DIR = '/run/overlayd';

export function defaultSocketPath(interfaceName: string): string {
  return `${DEFAULT_SOCKET_DIR}/${interfaceName}.sock`;
}
