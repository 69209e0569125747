// `devstatus simulate`: runs a Simulation with a live progress display and prints a summary.
import { Simulation, type Progress, type SimulationOptions, type SimulationSummary } from '../sim/simulation.js';

export interface SimulateCliOptions extends SimulationOptions {
  json: boolean;
  quiet: boolean;
  /** Seconds between progress lines when stderr is not a terminal. */
  progressEvery: number;
}

const fmtMs = (ms: number) => `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)} ms`;

function progressLine(p: Progress, rate: number): string {
  return (
    `${p.elapsed_s.toFixed(1)}s  sent ${p.sent}  ok ${p.ok}  errors ${p.errors}  in flight ${p.in_flight}  ` +
    `silent ${p.silent_now}  ${rate.toFixed(1)}/s  p50 ${fmtMs(p.latency_ms.p50)}  p99 ${fmtMs(p.latency_ms.p99)}` +
    (p.pending ? `  queued ${p.pending}` : '')
  );
}

const loginKinds = (s: SimulationSummary) =>
  Object.entries(s.logins.errors.by_kind)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');

export function formatSummary(s: SimulationSummary): string {
  const kinds = Object.entries(s.errors.by_kind)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
  const l = s.latency_ms;
  return [
    `devstatus simulate: ${s.boxes} boxes x ${s.sub_devices_per_box} sub-devices -> ${s.url} (${s.dialect} dialect)`,
    `  stopped by ${s.stopped_by} after ${s.elapsed_s.toFixed(1)} s`,
    `  sent      ${s.sent}`,
    `  ok        ${s.ok}`,
    `  errors    ${s.errors.total}${kinds ? ` (${kinds})` : ''}`,
    `  skipped   ${s.skipped} (box still waiting on its previous report)`,
    `  resent    ${s.resent}; still queued ${s.pending}; dropped ${s.dropped} (refused for good or queue full)`,
    ...(s.logins.ok || s.logins.errors.total ? [`  logins    ${s.logins.ok} ok, ${s.logins.errors.total} failed${loginKinds(s) ? ` (${loginKinds(s)})` : ''}`] : []),
    `  flaps     ${s.flaps} sub-device status changes; silences ${s.silences}`,
    `  latency   p50 ${fmtMs(l.p50)}  p95 ${fmtMs(l.p95)}  p99 ${fmtMs(l.p99)}  max ${fmtMs(l.max)}`,
    `  rate      ${s.reports_per_s.toFixed(1)} reports/s`,
  ].join('\n');
}

export async function runSimulate(opts: SimulateCliOptions): Promise<number> {
  const sim = new Simulation(opts);
  const out = process.stderr;
  const tty = out.isTTY === true;
  let last = { t: performance.now(), done: 0 };
  const show = () => {
    const p = sim.progress();
    const now = performance.now();
    const done = p.ok + p.errors;
    const rate = now > last.t ? ((done - last.done) * 1000) / (now - last.t) : 0;
    last = { t: now, done };
    if (tty) out.write(`\r\x1b[2K${progressLine(p, rate)}`);
    else out.write(`${progressLine(p, rate)}\n`);
  };
  const display = opts.quiet ? undefined : setInterval(show, tty ? 250 : opts.progressEvery * 1000);

  let interrupted = 0;
  const onSignal = () => {
    interrupted++;
    // A second Ctrl-C means: do not wait for the requests in flight.
    if (interrupted > 1) process.exit(130);
    void sim.stop('signal');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  if (!opts.quiet) {
    out.write(
      `simulating ${opts.boxes} boxes x ${opts.subDevices} sub-devices, ` +
        (opts.loginUrl ? `logging in at ${opts.loginUrl}` : `one report every ${opts.intervalS}s each, to ${opts.url}`) +
        `${opts.durationS !== undefined ? ` for ${opts.durationS}s` : ''}${opts.maxReports !== undefined ? `, at most ${opts.maxReports} reports` : ''}` +
        `${opts.durationS === undefined && opts.maxReports === undefined ? ' (Ctrl-C stops)' : ''}\n`,
    );
  }
  const summary = await sim.start().done;
  if (display) clearInterval(display);
  if (!opts.quiet && tty) {
    show();
    out.write('\n');
  }
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  process.stdout.write(opts.json ? `${JSON.stringify(summary)}\n` : `${formatSummary(summary)}\n`);
  return summary.errors.total === 0 && summary.logins.errors.total === 0 ? 0 : 1;
}
