// Loading overlayd's N-API addons (built by node-gyp at npm install into build/Release): one place that
// knows where they live and what to say when one is missing.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OverlayError, type ErrorCode } from '../errors.js';

const loaded = new Map<string, unknown>();

/** The addon `build/Release/<name>.node`; OverlayError(`code`) if it was not built. */
export function loadAddon<T>(name: string, code: ErrorCode, what: string): T {
  const cached = loaded.get(name);
  if (cached !== undefined) return cached as T;
  // Compiled to dist/src/native/; the package root (which holds build/) is three levels up, the same in a
  // checkout and in a global npm install.
  const path = fileURLToPath(new URL(`../../../build/Release/${name}.node`, import.meta.url));
  if (!existsSync(path)) {
    throw new OverlayError(
      code,
      `native ${what} binding not built: run npm install (node-gyp) [looked for ${path}]`,
    );
  }
  const addon = createRequire(import.meta.url)(path) as T;
  loaded.set(name, addon);
  return addon;
}
