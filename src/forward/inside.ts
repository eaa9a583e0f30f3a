// TUN → underlay: every packet of a batch goes through DataPlane.sendIp while the batch is valid.
import type { TunBatch } from '../tun/tun-device.js';
import type { DataPlane } from './data-plane.js';

export function insideHandler(dp: DataPlane): (batch: TunBatch) => void {
  return (batch) => {
    // One clock read per batch: a batch is read in microseconds, far below any timer we keep.
    const now = dp.clock.now();
    const { buffer, stride, headroom, lengths, count } = batch;
    for (let i = 0; i < count; i++) {
      dp.sendIp(buffer, i * stride + headroom, lengths[i], now);
    }
    // One sendmmsg for the whole batch.
    dp.transport.flush();
  };
}
