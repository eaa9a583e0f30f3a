// The version operators see (`overlayd --version`, `status`, overlayd_build_info): package.json's, read
// once. Compiled to dist/src/version.js, so package.json is two levels up, in a checkout and in a
// global npm install alike (npm always ships package.json).
import { readFileSync } from 'node:fs';

let cached: string | undefined;

export function overlaydVersion(): string {
  if (cached === undefined) {
    try {
      const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        version?: unknown;
      };
      cached = typeof pkg.version === 'string' ? pkg.version : 'unknown';
    } catch {
      cached = 'unknown';
    }
  }
  return cached;
}
