// "2 on / 1 off": a box's sub-devices as it last reported them. While the box is offline nobody
// can tell how they are: "3 unknown", in the muted colour, like every other view says.
import { t } from '../i18n/index.js';

export function SubCounts({ online, offline, boxOffline }: { online: number; offline: number; boxOffline?: boolean }) {
  if (boxOffline) {
    return (
      <span class="counts">
        <span class="count-unknown" title={t('status.unknown')}>
          {t('counts.unknown', { n: online + offline })}
        </span>
      </span>
    );
  }
  return (
    <span class="counts">
      <span class={online > 0 ? 'count-on' : 'count-zero'} title={t('status.online')}>
        {t('counts.on', { n: online })}
      </span>
      <span class="sep"> / </span>
      <span class={offline > 0 ? 'count-off' : 'count-zero'} title={t('status.offline')}>
        {t('counts.off', { n: offline })}
      </span>
    </span>
  );
}
