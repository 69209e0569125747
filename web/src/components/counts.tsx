// "2 on / 1 off": a box's sub-devices as it last reported them.
import { t } from '../i18n/index.js';

export function SubCounts({ online, offline }: { online: number; offline: number }) {
  return (
    <span class="counts">
      <span class="count-on" title={t('status.online')}>
        {t('counts.on', { n: online })}
      </span>
      <span class="sep"> / </span>
      <span class={offline > 0 ? 'count-off' : 'count-zero'} title={t('status.offline')}>
        {t('counts.off', { n: offline })}
      </span>
    </span>
  );
}
