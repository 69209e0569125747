// Where alerting stands on a box or camera that is down (GET /api/sub-devices and /api/devices
// rows' `alert`): acknowledged (by whom, when; undo) or an Acknowledge button for roles that
// may, and the silence holding its notifications. Text in every pill, not colour alone.
import type { AlertState } from '../../../src/store/api-types.js';
import { shortDateTime } from '../format.js';
import { t } from '../i18n/index.js';
import { pageHref } from '../router.js';
import { can } from '../state/me.js';
import { AckButton } from './ack-button.js';
import { TimeAgo } from './time-ago.js';

export function AlertStateCell({ state, onChange }: { state: AlertState | null | undefined; onChange: () => void }) {
  if (!state) return <span class="muted no-alert">—</span>;
  const ack = state.acknowledged;
  const silenced = state.silenced;
  return (
    <span class="alert-state">
      {can('operator') ? (
        <AckButton problem={{ subject: state.subject, acknowledged: ack }} onChange={onChange} />
      ) : ack ? (
        <span class="pill ack" title={ack.note ?? ''}>
          {t('ack.done', { who: ack.by })} · <TimeAgo at={ack.at} />
        </span>
      ) : null}
      {silenced ? (
        <a class="pill silenced" href={pageHref('silences')} title={silenced.silence_id}>
          {silenced.until ? t('alert.silencedUntil', { time: shortDateTime(silenced.until) }) : t('alert.silencedNoEnd')}
        </a>
      ) : null}
    </span>
  );
}
