// The fleet's counts, each card a link to the list it counts: boxes online / offline / all, and
// sub-devices online / offline / unknown (their box is offline) / removed / all. A count is red
// only when it is a problem (more than 0), and says its status in words, not colour alone.
import type { Summary } from '../api.js';
import { t, type MessageKey } from '../i18n/index.js';
import { pageHref } from '../router.js';

type Kind = 'ok' | 'bad' | 'warn' | '';

function Card({ value, label, kind, href }: { value: number | undefined; label: MessageKey; kind: Kind; href: string }) {
  // Zero offline is good news, not an alarm.
  const shown = kind === 'bad' || kind === 'warn' ? (value ? kind : 'zero') : kind;
  return (
    <a class={`card ${shown}`} href={href}>
      <span class="card-value">{value ?? '–'}</span>
      <span class="card-label">{t(label)}</span>
    </a>
  );
}

export function SummaryCards({ summary: s }: { summary: Summary | null }) {
  const subs = s?.sub_devices;
  return (
    <section class="summary" aria-label={t('fleet.summary')}>
      <div class="card-group">
        <h2>{t('fleet.boxes')}</h2>
        <div class="cards">
          <Card value={s?.boxes.online} label="card.boxesOnline" kind="ok" href={pageHref('boxes', { status: 'online' })} />
          <Card value={s?.boxes.offline} label="card.boxesOffline" kind="bad" href={pageHref('boxes', { status: 'offline' })} />
          <Card value={s?.boxes.total} label="card.boxesTotal" kind="" href={pageHref('boxes')} />
        </div>
      </div>
      <div class="card-group subs-group">
        <h2>{t('fleet.subDevices')}</h2>
        <div class="cards">
          <Card value={subs?.online} label="card.subsOnline" kind="ok" href={pageHref('problems', { status: 'online' })} />
          <Card value={subs?.offline} label="card.subsOffline" kind="bad" href={pageHref('problems', { status: 'offline' })} />
          <Card value={subs?.unknown} label="card.subsUnknown" kind="warn" href={pageHref('problems', { status: 'unknown' })} />
          <Card value={subs?.removed} label="card.subsRemoved" kind="" href={pageHref('problems', { status: 'removed' })} />
          <Card value={subs?.total} label="card.subsTotal" kind="" href={pageHref('problems', { status: 'all' })} />
        </div>
      </div>
    </section>
  );
}
