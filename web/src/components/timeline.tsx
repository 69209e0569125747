// Status changes, newest first: when, what (box or sub-device), from → to, why (and the box's own
// reason for a sub-device gone offline, ep_detail).
import type { ComponentChildren } from 'preact';
import type { HistoryEntry } from '../api.js';
import { absoluteTime, clockTime, reasonText, withoutCredentials } from '../format.js';
import { t } from '../i18n/index.js';
import { boxHref } from '../router.js';
import type { TimelineStore } from '../state/timeline.js';
import { StatusPill } from './status-pill.js';
import { TimeAgo } from './time-ago.js';

/** The part of an ep_id after `<dev_sno>__`: the sub-device's ip or stream url. */
function shortEpId(entry: { dev_sno: string; ep_id: string | null }): string {
  if (entry.ep_id === null) return t('timeline.theBox');
  const prefix = `${entry.dev_sno}__`;
  return withoutCredentials(entry.ep_id.startsWith(prefix) ? entry.ep_id.slice(prefix.length) : entry.ep_id);
}

export interface TimelineProps {
  title: string;
  store: TimelineStore;
  showBox: boolean;
  subjectName?: (e: HistoryEntry) => string | undefined;
  /** Filters above the list, and what follows it (paging). */
  toolbar?: ComponentChildren;
  children?: ComponentChildren;
}

export function Timeline({ title, store, showBox, subjectName, toolbar, children }: TimelineProps) {
  const items = store.items.value;
  return (
    <section class="panel timeline">
      <h2>{title}</h2>
      {toolbar}
      {store.loaded.value && items.length === 0 ? <p class="muted">{t('timeline.empty')}</p> : null}
      <ol class="timeline-list" aria-label={title}>
        {items.map(({ key, entry: e, fresh }) => {
          const name = subjectName?.(e);
          const subject = shortEpId(e);
          return (
            <li key={key} class={`timeline-item to-${e.to_status}${fresh ? ' fresh' : ''}`} data-dev-sno={e.dev_sno}>
              <time class="timeline-time" dateTime={e.at} title={absoluteTime(e.at)}>
                {clockTime(e.at)}
              </time>
              <div class="timeline-body">
                {showBox ? (
                  <a class="box-link" href={boxHref(e.dev_sno)}>
                    {e.dev_sno}
                  </a>
                ) : null}
                <span class="subject" title={e.ep_id ? withoutCredentials(e.ep_id) : e.dev_sno}>
                  {name && !name.includes(subject) ? `${name} (${subject})` : name || subject}
                </span>
                <span class="change">
                  {e.from_status ? <StatusPill status={e.from_status} /> : null}
                  {e.from_status ? <span class="arrow">→</span> : null}
                  <StatusPill status={e.to_status} />
                </span>
                <span class="reason muted">{reasonText(e.reason)}</span>
                {e.detail ? (
                  <span class="timeline-detail" title={t('timeline.detailTitle')}>
                    {withoutCredentials(e.detail)}
                  </span>
                ) : null}
                <span class="ago muted">
                  <TimeAgo at={e.at} />
                </span>
              </div>
            </li>
          );
        })}
      </ol>
      {children}
    </section>
  );
}
