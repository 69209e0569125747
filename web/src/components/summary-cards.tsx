// The fleet's counts: boxes and sub-devices, online / offline / all.
import type { Summary } from '../api.js';
import { t, type MessageKey } from '../i18n/index.js';

function Card({ value, label, kind }: { value: number | undefined; label: MessageKey; kind: 'ok' | 'bad' | '' }) {
  return (
    <div class={`card ${kind}`}>
      <span class="card-value">{value ?? '–'}</span>
      <span class="card-label">{t(label)}</span>
    </div>
  );
}

export function SummaryCards({ summary: s }: { summary: Summary | null }) {
  return (
    <section class="summary" aria-label={t('fleet.summary')}>
      <div class="card-group">
        <h2>{t('fleet.boxes')}</h2>
        <div class="cards">
          <Card value={s?.boxes.online} label="card.boxesOnline" kind="ok" />
          <Card value={s?.boxes.offline} label="card.boxesOffline" kind="bad" />
          <Card value={s?.boxes.total} label="card.boxesTotal" kind="" />
        </div>
      </div>
      <div class="card-group">
        <h2>{t('fleet.subDevices')}</h2>
        <div class="cards">
          <Card value={s?.sub_devices.online} label="card.subsOnline" kind="ok" />
          <Card value={s?.sub_devices.offline} label="card.subsOffline" kind="bad" />
          <Card value={s?.sub_devices.total} label="card.subsTotal" kind="" />
        </div>
      </div>
    </section>
  );
}
