// The time zone every date is shown in: the browser's own, or one the operator picks. Closed, it
// names the zone in the page's language ("中国标准时间", "GMT+8"); open, it lists every zone.
import { useMemo } from 'preact/hooks';
import { lang, t } from '../i18n/index.js';
import { browserZone, knownZones, setZone, zone } from '../state/zone.js';

function zoneName(tz: string, language: string): string {
  try {
    const parts = new Intl.DateTimeFormat(language, { timeZone: tz, timeZoneName: language === 'zh-CN' ? 'long' : 'short' }).formatToParts(new Date());
    return parts.find((p) => p.type === 'timeZoneName')?.value ?? tz;
  } catch {
    return tz;
  }
}

export function ZoneSelect() {
  const zones = useMemo(knownZones, []);
  const current = zone.value || browserZone;
  return (
    <details class="zone-picker">
      <summary title={`${t('header.zone')}: ${current}`}>
        {zoneName(current, lang.value)}
        <span aria-hidden="true" class="caret">
          {' ▾'}
        </span>
      </summary>
      <label class="zone-select">
        <span>{t('header.zone')}</span>
        <select value={zone.value} onChange={(ev) => setZone(ev.currentTarget.value)}>
          <option value="">{t('header.zoneBrowser', { zone: browserZone })}</option>
          {zones.map((z) => (
            <option key={z} value={z}>
              {z}
            </option>
          ))}
        </select>
      </label>
    </details>
  );
}
