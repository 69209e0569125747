// Alert channels (issue 12): the list with a "send test message" action, and a form to add a
// DingTalk, WeCom, Feishu or webhook channel. Secrets are write-only: the API returns them masked.
import { useEffect, useState } from 'preact/hooks';
import { alertingApi, type Channel, type SendOutcome } from '../alerting-api.js';
import { AdminForm, Field } from '../components/admin-form.js';
import { DataTable, type Column } from '../components/data-table.js';
import { t, type MessageKey } from '../i18n/index.js';
import { handleError } from '../state/session.js';

const KINDS = ['dingtalk', 'wecom', 'feishu', 'webhook'] as const;
type Kind = (typeof KINDS)[number];
const KIND_NAMES: Record<string, string> = { dingtalk: '钉钉 DingTalk', wecom: '企业微信 WeCom', feishu: '飞书 Feishu', webhook: 'Webhook', email: 'E-mail' };

/** The form's fields per kind: [config field, label]. */
const FIELDS: Record<Kind, [string, MessageKey][]> = {
  dingtalk: [['access_token', 'channels.accessToken'], ['secret', 'channels.secret'], ['keywords', 'channels.keywords'], ['base_url', 'channels.baseUrl']],
  wecom: [['key', 'channels.key'], ['base_url', 'channels.baseUrl']],
  feishu: [['hook_token', 'channels.hookToken'], ['secret', 'channels.secret'], ['keywords', 'channels.keywords'], ['base_url', 'channels.baseUrl']],
  webhook: [['url', 'channels.url'], ['secret', 'channels.hmac']],
};

function target(c: Channel): string {
  const cfg = c.config;
  return String(cfg.url ?? cfg.base_url ?? cfg.host ?? '') || (c.kind === 'webhook' ? '' : KIND_NAMES[c.kind] ?? c.kind);
}

function TestButton({ channel }: { channel: Channel }) {
  const [state, setState] = useState<'idle' | 'sending' | SendOutcome>('idle');
  const run = async () => {
    setState('sending');
    try {
      setState(await alertingApi.testChannel(channel.id));
    } catch (e) {
      setState({ outcome: 'failed', message: e instanceof Error ? e.message : String(e) });
    }
  };
  return (
    <span class="test-action">
      <button type="button" class="button small" disabled={state === 'sending'} onClick={() => void run()}>
        {state === 'sending' ? t('channels.testing') : t('channels.test')}
      </button>{' '}
      {typeof state === 'object' ? (
        <span class={state.outcome === 'delivered' ? 'result ok' : 'result bad'} role="status">
          {state.outcome === 'delivered' ? t('channels.testOk') : t('channels.testFailed', { message: `${state.code ?? ''} ${state.message ?? ''}`.trim() })}
        </span>
      ) : null}
    </span>
  );
}

function AddChannel({ onAdded }: { onAdded: () => void }) {
  const [kind, setKind] = useState<Kind>('dingtalk');
  const [name, setName] = useState('');
  const [lang, setLang] = useState('zh-CN');
  const [values, setValues] = useState<Record<string, string>>({});
  const submit = async () => {
    const config: Record<string, unknown> = { kind, lang };
    for (const [field] of FIELDS[kind]) {
      const v = (values[field] ?? '').trim();
      if (!v) continue;
      config[field] = field === 'keywords' ? v.split(/[,，]/).map((k) => k.trim()).filter(Boolean) : v;
    }
    const c = await alertingApi.createChannel({ name: name.trim(), config });
    setValues({});
    setName('');
    onAdded();
    return t('channels.saved', { name: c.name });
  };
  return (
    <AdminForm class="panel form" title={t('channels.add')} submitClass="button" submitLabel={t('channels.save')} onSubmit={submit}>
      <Field label={t('channels.kind')}>
        <select name="kind" value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value as Kind)}>
          {KINDS.map((k) => (
            <option value={k}>{KIND_NAMES[k]}</option>
          ))}
        </select>
      </Field>
      <Field label={t('channels.name')}>
        <input name="name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      </Field>
      {FIELDS[kind].map(([field, label]) => (
        <Field key={`${kind}-${field}`} label={t(label)}>
          {field === 'secret' ? (
            <input
              name={field}
              type="password"
              autocomplete="off"
              value={values[field] ?? ''}
              onInput={(e) => setValues({ ...values, [field]: (e.target as HTMLInputElement).value })}
            />
          ) : (
            <input
              name={field}
              type="text"
              autocomplete="off"
              required={field !== 'keywords' && field !== 'base_url'}
              value={values[field] ?? ''}
              onInput={(e) => setValues({ ...values, [field]: (e.target as HTMLInputElement).value })}
            />
          )}
        </Field>
      ))}
      <Field label={t('channels.lang')}>
        <select name="lang" value={lang} onChange={(e) => setLang((e.target as HTMLSelectElement).value)}>
          <option value="zh-CN">中文</option>
          <option value="en">English</option>
        </select>
      </Field>
      <p class="muted">{t('channels.secretHidden')}</p>
    </AdminForm>
  );
}

export function ChannelsView() {
  const [channels, setChannels] = useState<Channel[] | null>(null);
  const load = () => void alertingApi.channels().then((r) => setChannels(r.channels), handleError);
  useEffect(() => {
    document.title = `${t('channels.title')} — devstatus`;
    load();
  }, []);
  const remove = async (c: Channel) => {
    if (!confirm(t('channels.confirmDelete', { name: c.name }))) return;
    await alertingApi.deleteChannel(c.id).catch(handleError);
    load();
  };
  const columns: Column<Channel>[] = [
    { id: 'name', label: t('channels.name'), class: 'ch-name', cell: (c) => <strong>{c.name}</strong> },
    { id: 'kind', label: t('channels.kind'), class: 'ch-kind', cell: (c) => KIND_NAMES[c.kind] ?? c.kind },
    { id: 'target', label: t('channels.target'), class: 'ch-target mono', cell: (c) => target(c) },
    { id: 'lang', label: t('channels.lang'), class: 'ch-lang', cell: (c) => (c.config.lang === 'en' ? 'English' : '中文') },
    {
      id: 'actions',
      label: '',
      class: 'ch-actions',
      cell: (c) => (
        <>
          <TestButton channel={c} />{' '}
          <button type="button" class="link-button danger" onClick={() => void remove(c)}>
            {t('channels.delete')}
          </button>
        </>
      ),
    },
  ];
  return (
    <main class="admin-page">
      <h1>{t('channels.title')}</h1>
      <p class="muted">{t('channels.intro')}</p>
      <DataTable class="channels" columns={columns} rows={channels ?? []} rowKey={(c) => c.id} empty={channels ? t('channels.none') : null} />
      <AddChannel onAdded={load} />
    </main>
  );
}
