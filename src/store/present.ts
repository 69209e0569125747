// How stored sub-device state is shown: while its box is offline nobody knows a sub-device's
// status, so it reads `unknown`, with the last reported status kept alongside. Shared by backends.
import type { BoxStatus, SubDeviceState, SubDeviceStatus } from './types.js';

export function presentSubDevice(
  sub: Omit<SubDeviceState, 'ep_status' | 'last_reported_status'> & { ep_status: SubDeviceStatus },
  boxStatus: BoxStatus,
): SubDeviceState {
  const stored = sub.ep_status;
  // `removed` stays removed: it was not in the box's last report at all.
  const shown = boxStatus === 'offline' && stored !== 'removed' ? 'unknown' : stored;
  return { ...sub, ep_status: shown, last_reported_status: stored };
}
