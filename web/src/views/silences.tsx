// Silences and maintenance windows (issue 12), and the open problems with what silences them and
// their acknowledgement. Silenced changes are still recorded; only notifications are held back.
import { useEffect, useState } from 'preact/hooks';
import { alertingApi, type Problem, type Silence } from '../alerting-api.js';
import { AckButton } from '../components/ack-button.js';
import { AdminForm, Field } from '../components/admin-form.js';
import { DataTable, type Column } from '../components/data-table.js';
import { TimeAgo } from '../components/time-ago.js';
import { t } from '../i18n/index.js';
import { boxHref } from '../router.js';
import { handleError } from '../state/session.js';

const HOURS = [1, 2, 4, 8, 24, 72];

function when(ms: number | null | undefined): string {
  return ms == null ? '—' : new Date(ms).toLocaleString();
}

function AddSilence({ onAdded }: { onAdded: () => void }) {
  const [box, setBox] = useState('');
  const [camera, setCamera] = useState('');
  const [hours, setHours] = useState(2);
  const [comment, setComment] = useState('');
  const submit = async () => {
    const matchers = camera.trim() ? { ep_ids: [camera.trim()] } : { boxes: [box.trim()] };
    await alertingApi.createSilence({ matchers, ends_at: Date.now() + hours * 3600_000, comment: comment.trim() });
    setBox('');
    setCamera('');
    setComment('');
    onAdded();
    return t('silences.saved');
  };
  return (
    <AdminForm class="panel form" title={t('silences.add')} submitClass="button" submitLabel={t('silences.save')} onSubmit={submit}>
      <Field label={t('silences.box')}>
        <input name="box" required={!camera.trim()} value={box} onInput={(e) => setBox((e.target as HTMLInputElement).value)} />
      </Field>
      <Field label={t('silences.camera')}>
        <input name="camera" value={camera} onInput={(e) => setCamera((e.target as HTMLInputElement).value)} />
      </Field>
      <Field label={t('silences.duration')}>
        <select name="hours" value={String(hours)} onChange={(e) => setHours(Number((e.target as HTMLSelectElement).value))}>
          {HOURS.map((h) => (
            <option value={String(h)}>{t('silences.hours', { n: h })}</option>
          ))}
        </select>
      </Field>
      <Field label={t('silences.comment')}>
        <input name="comment" value={comment} onInput={(e) => setComment((e.target as HTMLInputElement).value)} />
      </Field>
    </AdminForm>
  );
}

export function SilencesView() {
  const [silences, setSilences] = useState<Silence[] | null>(null);
  const [problems, setProblems] = useState<Problem[] | null>(null);
  const load = () => {
    void alertingApi.silences().then((r) => setSilences(r.silences), handleError);
    void alertingApi.problems().then((r) => setProblems(r.problems), handleError);
  };
  useEffect(() => {
    document.title = `${t('silences.title')} — devstatus`;
    load();
    // Problems open and close with reports: keep the list current.
    const timer = setInterval(load, 5000);
    return () => clearInterval(timer);
  }, []);

  const silenceColumns: Column<Silence>[] = [
    {
      id: 'state',
      label: '',
      class: 'sl-state',
      cell: (s) => <span class={`pill ${s.active ? 'silenced' : 'ended'}`}>{s.active ? t('silences.active') : t('silences.ended')}</span>,
    },
    {
      id: 'what',
      label: t('silences.box'),
      class: 'sl-what mono',
      cell: (s) => [...(s.matchers.boxes ?? []), ...(s.matchers.ep_ids ?? []), ...(s.matchers.locations ?? [])].join(', '),
    },
    { id: 'until', label: t('silences.duration'), class: 'sl-until', cell: (s) => t('silences.until', { time: when(s.ends_at) }) },
    {
      id: 'comment',
      label: t('silences.comment'),
      class: 'sl-comment',
      cell: (s) => (
        <>
          {s.comment} <span class="muted">{t('silences.by', { who: s.created_by })}</span>
          {s.silencing.length ? <div class="muted">{t('silences.covers', { n: s.silencing.length })}</div> : null}
        </>
      ),
    },
    {
      id: 'actions',
      label: '',
      class: 'sl-actions',
      cell: (s) =>
        s.active ? (
          <button type="button" class="link-button danger" onClick={() => void alertingApi.expireSilence(s.id).then(load, handleError)}>
            {t('silences.expire')}
          </button>
        ) : null,
    },
  ];
  const problemColumns: Column<Problem>[] = [
    { id: 'status', label: t('col.status'), class: 'status', cell: (p) => <span class={`pill ${p.status}`}>{t(p.status === 'offline' ? 'status.offline' : 'status.unknown')}</span> },
    {
      id: 'what',
      label: t('col.name'),
      class: 'pr-what',
      cell: (p) => (
        <>
          <a href={boxHref(p.dev_sno)}>{p.box_name ?? p.dev_sno}</a>
          {p.kind === 'sub_device' ? <> · {p.ep_name ?? p.ep_id}</> : null}
          {p.location ? <div class="muted mono">{p.location}</div> : null}
        </>
      ),
    },
    { id: 'since', label: t('col.lastChange'), class: 'since', cell: (p) => <TimeAgo at={p.since} /> },
    {
      id: 'silenced',
      label: '',
      class: 'pr-silenced',
      cell: (p) => (p.silenced ? <span class="pill silenced">{t('problems.silenced')}</span> : null),
    },
    { id: 'ack', label: '', class: 'pr-ack', cell: (p) => <AckButton problem={p} onChange={load} /> },
  ];
  return (
    <main class="admin-page">
      <h1>{t('silences.problemsTitle')}</h1>
      <DataTable class="problems" columns={problemColumns} rows={problems ?? []} rowKey={(p) => p.subject} empty={problems ? t('silences.problemsNone') : null} />
      <h1>{t('silences.title')}</h1>
      <p class="muted">{t('silences.intro')}</p>
      <DataTable class="silences" columns={silenceColumns} rows={silences ?? []} rowKey={(s) => s.id} empty={silences ? t('silences.none') : null} />
      <AddSilence onAdded={load} />
    </main>
  );
}
