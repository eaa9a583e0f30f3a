// The overlayd_udp addon (native/udp.c): its flat functions, the memory layout shared with the C side,
// and loading it. The only module that requires the addon; native-udp-transport.ts is its only user.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OverlayError } from '../errors.js';

/** The addon's flat functions (native/udp.c). Thrown errors carry the errno name as `code`. */
export interface UdpBinding {
  readonly sizeof_udp_t: number;
  readonly udp_addr_bytes: number;
  udp_open(
    handle: Buffer,
    family: 4 | 6,
    host: string,
    port: number,
    bufferBytes: number,
    flags: number,
    info: Uint32Array,
  ): void;
  udp_start(
    handle: Buffer,
    buffer: Buffer,
    slotSize: number,
    lengths: Uint32Array,
    addrs: Uint8Array,
    batch: number,
    stats: Uint32Array,
    onBatch: (count: number) => void,
    onError: (err: NodeJS.ErrnoException) => void,
  ): void;
  /** 0 or a negative errno. */
  udp_send(handle: Buffer, data: Uint8Array, offset: number, length: number, addr: Uint8Array): number;
  /** Datagrams sent; `result` gets [dropped, failed, last failure errno, last drop errno] (negative). */
  udp_send_batch(
    handle: Buffer,
    buffer: Buffer,
    slotSize: number,
    lengths: Uint32Array,
    addrs: Uint8Array,
    count: number,
    result: Int32Array,
  ): number;
  /** True if onClosed will run once the fd is closed (in the uv_close callback). */
  udp_close(handle: Buffer, onClosed?: () => void): boolean;
}

// Layout shared with native/udp.c.
export const ADDR_BYTES = 20; // address record: 16 address bytes, port (network order), family, reserved
export const ADDR_WORDS = ADDR_BYTES / 4;
export const STAT_RX_ERRORS = 0;
export const STAT_RX_LAST_ERRNO = 1;
export const STAT_COUNT = 3;
export const OPEN_RECVERR = 1;

// Compiled to dist/src/transport/; the package root (which holds build/) is three levels up.
const ADDON_PATH = fileURLToPath(new URL('../../../build/Release/overlayd_udp.node', import.meta.url));

let binding: UdpBinding | undefined;

export function loadBinding(): UdpBinding {
  if (binding) return binding;
  if (!existsSync(ADDON_PATH)) {
    throw new OverlayError(
      'ERR_TRANSPORT',
      `native UDP binding not built: run npm install (node-gyp) [looked for ${ADDON_PATH}]`,
    );
  }
  binding = createRequire(import.meta.url)(ADDON_PATH) as UdpBinding;
  if (binding.udp_addr_bytes !== ADDR_BYTES) throw new Error('overlayd_udp.node does not match this build');
  return binding;
}
