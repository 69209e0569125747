// Acknowledging an open problem (issue 12): who (the logged-in admin), when, an optional note.
// Reminders and escalation stop; "Undo" resumes them. Usable from any list of problems.
import { useState } from 'preact/hooks';
import { alertingApi, type Problem } from '../alerting-api.js';
import { t } from '../i18n/index.js';
import { handleError } from '../state/session.js';
import { TimeAgo } from './time-ago.js';

export function AckButton({ problem, onChange }: { problem: Pick<Problem, 'subject' | 'acknowledged'>; onChange: () => void }) {
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await work();
      setOpen(false);
      setNote('');
      onChange();
    } catch (e) {
      handleError(e);
    } finally {
      setBusy(false);
    }
  };
  const ack = problem.acknowledged;
  if (ack) {
    return (
      <span class="ack-state">
        <span class="pill ack" title={ack.note ?? ''}>
          {t('ack.done', { who: ack.by })} · <TimeAgo at={ack.at} />
        </span>
        {ack.note ? <span class="muted"> “{ack.note}”</span> : null}{' '}
        <button type="button" class="link-button" disabled={busy} onClick={() => void act(() => alertingApi.unack(problem.subject))}>
          {t('ack.undo')}
        </button>
      </span>
    );
  }
  if (!open) {
    return (
      <button type="button" class="button small ack-button" onClick={() => setOpen(true)}>
        {t('ack.button')}
      </button>
    );
  }
  return (
    <form class="ack-form" onSubmit={(e) => (e.preventDefault(), void act(() => alertingApi.ack(problem.subject, note.trim())))}>
      <input aria-label={t('ack.note')} placeholder={t('ack.note')} value={note} onInput={(e) => setNote((e.target as HTMLInputElement).value)} />
      <button type="submit" class="button small" disabled={busy}>
        {t('ack.confirm')}
      </button>
      <button type="button" class="link-button" onClick={() => setOpen(false)}>
        {t('ack.cancel')}
      </button>
    </form>
  );
}
