// "12 s ago", kept current by the clock, with date, time and time zone on hover.
import { absoluteTime, relativeTime } from '../format.js';
import { now } from '../state/clock.js';

export function TimeAgo({ at, class: cls }: { at: string; class?: string }) {
  return (
    <time class={cls} dateTime={at} title={absoluteTime(at)} data-at={at}>
      {relativeTime(at, now.value)}
    </time>
  );
}
