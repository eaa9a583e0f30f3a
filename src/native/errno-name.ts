// errno names ('EAGAIN', 'EIO') for the negative errno values the bindings return, memoised: the packet
// paths name their last error on every failed batch.
import { getSystemErrorName } from 'node:util';

const names = new Map<number, string>();

/** The name of a negative errno (as the bindings return them); ERRNO<n> when Node has no name for it. */
export function errnoName(negativeErrno: number): string {
  let name = names.get(negativeErrno);
  if (name === undefined) {
    try {
      name = getSystemErrorName(negativeErrno);
    } catch {
      name = `ERRNO${-negativeErrno}`;
    }
    names.set(negativeErrno, name);
  }
  return name;
}
