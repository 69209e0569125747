// A moment as a table cell shows it: date and time in the operator's zone, full time on hover;
// and how long ago that was, kept current by the clock.
import { absoluteTime, duration, shortDateTime } from '../format.js';
import { now } from '../state/clock.js';

export function DateTime({ at }: { at: string }) {
  return (
    <time class="date-time" dateTime={at} title={absoluteTime(at)}>
      {shortDateTime(at)}
    </time>
  );
}

export function Lasting({ since, until }: { since: string; until?: string | null }) {
  const end = until ? Date.parse(until) : now.value;
  return <span class="lasting">{duration(end - Date.parse(since))}</span>;
}
