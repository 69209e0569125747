// Report periods as typed on the codes page (a box's own, a group's): checked before they are
// sent, with a message that names the field and the value, the same bounds as the receiver's
// (src/server/routes/platform-api.ts: whole seconds, 1 to 86400; empty: none of its own).
import { useEffect, useState } from 'preact/hooks';
import { consoleApi, type BoxGroup } from '../api-console.js';
import { t } from '../i18n/index.js';
import { handleError } from '../state/session.js';
import { AdminForm, FormProblem } from './admin-form.js';
import { DataTable } from './data-table.js';

export const MAX_PERIOD_S = 86_400;

/** null for an empty field (use the group's or the fleet's); throws FormProblem naming what is wrong. */
export function parsePeriod(text: string): number | null {
  const v = text.trim();
  if (v === '') return null;
  const n = /^\d+$/.test(v) ? Number(v) : NaN;
  if (!(n >= 1 && n <= MAX_PERIOD_S)) throw new FormProblem(t('codes.periodBad', { value: v }));
  return n;
}

/** null for an empty field (no group); throws FormProblem when the name cannot be one. */
export function parseGroup(text: string): string | null {
  const v = text.trim();
  if (v === '') return null;
  if ([...v].length > 64) throw new FormProblem(t('codes.groupBad'));
  return v;
}

function GroupPeriod({ group, onSaved }: { group: BoxGroup; onSaved(): void }) {
  const [period, setPeriod] = useState(group.report_period_s === null ? '' : String(group.report_period_s));
  return (
    <AdminForm
      class="inline-form group-period"
      submitClass="small-button"
      submitLabel={t('admin.save')}
      onSubmit={async () => {
        await consoleApi.putGroup(group.name, parsePeriod(period));
        onSaved();
        return t('codes.saved', { code: group.name });
      }}
    >
      <input
        value={period}
        inputMode="numeric"
        aria-label={`${t('codes.period')} · ${group.name}`}
        placeholder={t('codes.periodFrom.fleet')}
        onInput={(ev) => setPeriod(ev.currentTarget.value)}
      />
    </AdminForm>
  );
}

/** The groups with their periods, each editable in its row. `version` changes when a box changed group. */
export function GroupPeriods({ version }: { version: number }) {
  const [groups, setGroups] = useState<BoxGroup[] | null>(null);
  const load = () => void consoleApi.groups().then(setGroups).catch(handleError);
  useEffect(load, [version]);
  return (
    <section class="panel groups">
      <h2>{t('codes.groupsTitle')}</h2>
      <p class="muted">{t('codes.groupsIntro')}</p>
      <DataTable<BoxGroup>
        class="group-table"
        columns={[
          { id: 'name', label: t('codes.group'), class: 'group-name', cell: (g) => g.name },
          { id: 'boxes', label: t('codes.groupBoxes'), class: 'num', cell: (g) => g.boxes },
          { id: 'period', label: t('codes.period'), class: 'group-period-cell', cell: (g) => <GroupPeriod group={g} onSaved={load} /> },
        ]}
        rows={groups ?? []}
        rowKey={(g) => g.name}
        rowProps={(g) => ({ class: 'group-row', 'data-group': g.name })}
        empty={groups === null ? null : t('codes.groupsNone')}
      />
    </section>
  );
}
