// A box's own health (issue 11): the latest CPU, memory and disk figures and software version it
// reported, and a small chart of the last 24 h (one point per 5 min) drawn as plain SVG lines.
import { useEffect, useState } from 'preact/hooks';
import type { BoxHealth } from '../../../src/protocol/schema.js';
import { api, type HealthPoint } from '../api.js';
import { t } from '../i18n/index.js';

const pct = (n: number | undefined) => (n === undefined ? '—' : `${Math.round(n * 10) / 10}%`);

type Series = 'cpu_pct' | 'mem_pct' | 'disk_pct';
const SERIES: Array<{ key: Series; class: string }> = [
  { key: 'cpu_pct', class: 'line-cpu' },
  { key: 'mem_pct', class: 'line-mem' },
  { key: 'disk_pct', class: 'line-disk' },
];

/** One polyline per figure, 0-100% bottom to top, the window's span left to right. */
function Chart({ points }: { points: HealthPoint[] }) {
  if (points.length < 2) return <p class="muted health-empty">{t('health.noSeries')}</p>;
  const w = 300;
  const h = 60;
  const t0 = Date.parse(points[0]!.at);
  const span = Math.max(1, Date.parse(points.at(-1)!.at) - t0);
  const line = (key: Series) =>
    points
      .filter((p) => p[key] !== null)
      .map((p) => `${((Date.parse(p.at) - t0) / span) * w},${h - (Math.min(100, p[key]!) / 100) * h}`)
      .join(' ');
  return (
    <svg class="health-chart" viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" role="img" aria-label={t('health.chart')}>
      {SERIES.map((s) => (
        <polyline key={s.key} class={s.class} points={line(s.key)} fill="none" vector-effect="non-scaling-stroke" />
      ))}
    </svg>
  );
}

export function BoxHealthPanel({ devSno, health }: { devSno: string; health: BoxHealth | undefined }) {
  const [points, setPoints] = useState<HealthPoint[]>([]);
  useEffect(() => {
    let live = true;
    api.boxHealth(devSno).then((r) => live && setPoints(r.points), () => {});
    return () => {
      live = false;
    };
  }, [devSno, health?.cpu_pct]);
  if (!health) return null;
  return (
    <section class="panel box-health">
      <h2>{t('health.title')}</h2>
      <div class="facts">
        <span class="fact"><span class="fact-label line-cpu">{t('health.cpu')}</span>{pct(health.cpu_pct)}</span>
        <span class="fact"><span class="fact-label line-mem">{t('health.memory')}</span>{pct(health.mem_pct)}</span>
        <span class="fact"><span class="fact-label line-disk">{t('health.disk')}</span>{pct(health.disk_pct)}</span>
        {health.sw_version ? <span class="fact"><span class="fact-label">{t('health.version')}</span>{health.sw_version}</span> : null}
      </div>
      <Chart points={points} />
    </section>
  );
}
