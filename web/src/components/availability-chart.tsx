// A small chart of the window: how many of the box's cameras were down at each moment (all of
// them while the box itself was offline), drawn by uPlot from the outage list.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { useEffect, useRef } from 'preact/hooks';
import type { Outage } from '../api-console.js';
import { axisTimeLabels, shortDateTime } from '../format.js';
import { lang, t } from '../i18n/index.js';
import { zone } from '../state/zone.js';

/** Step series: seconds since the epoch → cameras down from then on. */
export function downSeries(outages: Outage[], cameras: number, from: number, to: number): [number[], number[]] {
  const cuts = new Set<number>([from, to]);
  const spans = outages.map((o) => ({ box: o.ep_id === null, start: Math.max(from, Date.parse(o.start)), end: o.end ? Date.parse(o.end) : to }));
  for (const s of spans) {
    if (s.start < to) cuts.add(s.start);
    if (s.end < to && s.end > from) cuts.add(s.end);
  }
  const xs = [...cuts].sort((a, b) => a - b);
  const ys = xs.map((x) => {
    const live = spans.filter((s) => s.start <= x && x < s.end);
    if (live.some((s) => s.box)) return cameras;
    return Math.min(cameras, live.length);
  });
  return [xs.map((x) => x / 1000), ys];
}

export function AvailabilityChart({ outages, cameras, from, to }: { outages: Outage[]; cameras: number; from: number; to: number }) {
  const holder = useRef<HTMLDivElement>(null);
  const label = t('chart.down');
  const tz = zone.value;
  const language = lang.value;
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const data = downSeries(outages, cameras, from, to);
    // The x labels last drawn, with their places: written to data-x-ticks after each draw, so a
    // test (or any tool that cannot read a canvas) can tell whether labels run into each other.
    let ticks: { at: number; text: string }[] = [];
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height: 140,
        legend: { show: false },
        cursor: { show: true, drag: { x: false, y: false } },
        ...(tz ? { tzDate: (ts: number) => uPlot.tzDate(new Date(ts * 1000), tz) } : {}),
        scales: { y: { range: [0, Math.max(1, cameras)] } },
        axes: [
          // Times in the operator's zone and language, 24-hour (uPlot's own labels are English
          // am/pm); at least 80 px apart so "14:00" labels never touch, the date under the first of a day.
          {
            stroke: '#5b6572',
            space: 80,
            size: 48,
            values: (_u, splits) => {
              const labels = axisTimeLabels(splits);
              ticks = splits.map((at, i) => ({ at, text: labels[i]! }));
              return labels;
            },
          },
          { stroke: '#5b6572', size: 40, incrs: [1, 2, 5, 10, 20, 50] },
        ],
        hooks: {
          draw: [(u) => (el.dataset.xTicks = JSON.stringify(ticks.map((tk) => [Math.round(u.valToPos(tk.at, 'x')), tk.text])))],
        },
        series: [
          { value: (_u, v) => (v == null ? '' : shortDateTime(new Date(v * 1000).toISOString())) },
          { label, stroke: '#b42318', fill: 'rgba(180, 35, 24, 0.15)', width: 1.5, paths: uPlot.paths.stepped!({ align: 1 }) },
        ],
      },
      data as uPlot.AlignedData,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: 140 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [outages, cameras, from, to, tz, language, label]);
  return <div class="availability-chart" ref={holder} role="img" aria-label={t('chart.label', { n: outages.length })} />;
}
