// The certificate and key of the ws transport's TLS (peers.yaml network.tls). The key is refused when
// others can read it (any group or other permission bits), as the node's own key file is: whoever has
// it can pose as this site's HTTPS endpoint to a proxy. The certificate is public.
import { readFileSync, statSync } from 'node:fs';
import { OverlayError } from '../errors.js';
import type { WsTls } from './ws-transport.js';

export function loadWsTls(paths: { cert: string; key: string }): WsTls {
  let mode: number;
  try {
    mode = statSync(paths.key).mode;
  } catch (err) {
    throw new OverlayError('ERR_TLS', `cannot read TLS key ${paths.key}: ${(err as Error).message}`, {
      cause: err,
    });
  }
  if ((mode & 0o077) !== 0) {
    throw new OverlayError(
      'ERR_TLS',
      `TLS key ${paths.key} is readable by others (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${paths.key}`,
    );
  }
  try {
    return { cert: readFileSync(paths.cert), key: readFileSync(paths.key) };
  } catch (err) {
    throw new OverlayError('ERR_TLS', `cannot read TLS files: ${(err as Error).message}`, { cause: err });
  }
}
