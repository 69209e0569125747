// The agent's configuration file (YAML or JSON): what box this is, where to report, and the
// sub-devices to probe. Every mistake is reported with the field it is in.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { ValueError } from '@sinclair/typebox/errors';
import { parse as parseYaml } from 'yaml';
import { HEX_MAC_PATTERN } from '../protocol/login.js';
import { EP_TYPES, LIMITS, makeEpId, type EpType } from '../protocol/schema.js';
import { describeValueError, pointerToField } from '../protocol/validate.js';
import { DEFAULT_SIP_PORT } from '../probe/sip.js';
import { parseRtspUrl } from '../probe/rtsp.js';

export const CONFIG_DEFAULTS = {
  interval_s: 5,
  probe_timeout_s: 3,
  probe_connections_per_host: 4,
  post_timeout_s: 10,
  failures_before_offline: 3,
  photo_port: 80,
  queue_dir: 'data/agent-queue',
  queue_max_reports: 10_000,
  backoff_initial_s: 1,
  backoff_max_s: 60,
  /** With login_url: log in again this often, so a period changed on the platform takes effect. */
  relogin_interval_s: 300,
} as const;

/** The report dialects the agent sends (docs/protocol-dialects.md). */
export const AGENT_DIALECTS = ['current', 'rich'] as const;
export type AgentDialect = (typeof AGENT_DIALECTS)[number];

const SubDeviceConfigSchema = Type.Object(
  {
    type: Type.Union(EP_TYPES.map((t) => Type.Literal(t))),
    ip: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    url: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.fieldMaxLength })),
    path: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.fieldMaxLength })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    sip_id: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    /** Tells apart sub-devices on one address: ep_id `<dev_sno>__<ip>#<channel>`. */
    channel: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    ep_location: Type.String({ maxLength: LIMITS.fieldMaxLength }),
    ep_name: Type.Optional(Type.String({ maxLength: LIMITS.fieldMaxLength })),
  },
  { additionalProperties: false },
);

export const AgentConfigSchema = Type.Object(
  {
    dev_sno: Type.String({ minLength: 1, maxLength: LIMITS.devSnoMaxLength }),
    // One of the two: where to report, or where to log in and be told where (and how often).
    report_url: Type.Optional(Type.String({ minLength: 1 })),
    login_url: Type.Optional(Type.String({ minLength: 1 })),
    relogin_interval_s: Type.Optional(Type.Number({ minimum: 1, maximum: 86_400 })),
    mac: Type.Optional(Type.String({ pattern: HEX_MAC_PATTERN })),
    dialect: Type.Optional(Type.Union(AGENT_DIALECTS.map((d) => Type.Literal(d)))),
    gateway_sn: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.fieldMaxLength })),
    gateway_name: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.fieldMaxLength })),
    sdk_version: Type.Optional(Type.String({ minLength: 1, maxLength: LIMITS.fieldMaxLength })),
    interval_s: Type.Optional(Type.Number({ minimum: 0.1, maximum: 86_400 })),
    probe_timeout_s: Type.Optional(Type.Number({ minimum: 0.05, maximum: 300 })),
    probe_connections_per_host: Type.Optional(Type.Integer({ minimum: 1, maximum: 256 })),
    post_timeout_s: Type.Optional(Type.Number({ minimum: 0.1, maximum: 600 })),
    failures_before_offline: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
    include_report_time: Type.Optional(Type.Boolean()),
    queue: Type.Optional(
      Type.Object(
        {
          dir: Type.Optional(Type.String({ minLength: 1 })),
          max_reports: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000_000 })),
        },
        { additionalProperties: false },
      ),
    ),
    backoff: Type.Optional(
      Type.Object(
        {
          initial_s: Type.Optional(Type.Number({ minimum: 0.01, maximum: 3600 })),
          max_s: Type.Optional(Type.Number({ minimum: 0.01, maximum: 86_400 })),
        },
        { additionalProperties: false },
      ),
    ),
    sub_devices: Type.Array(SubDeviceConfigSchema, { maxItems: LIMITS.subDevicesMax }),
  },
  { additionalProperties: false },
);

export type AgentConfigFile = Static<typeof AgentConfigSchema>;

/** What to probe for one sub-device. */
export type ProbeTarget =
  | { type: 'rtsp'; url: string }
  | { type: 'photo'; host: string; port: number }
  | { type: 'gb28181'; host: string; port: number; sipId?: string }
  | { type: 'file'; path: string };

export interface SubDeviceSpec {
  type: EpType;
  epId: string;
  epIp: string;
  epLocation: string;
  epName: string;
  target: ProbeTarget;
  /** Where the device is, without credentials: safe for logs. */
  label: string;
}

export interface AgentConfig {
  /** The file it came from (for messages), or '(inline)'. */
  source: string;
  devSno: string;
  /** Where to report; with loginUrl, undefined: the platform hands it out at login. */
  reportUrl?: string;
  /** Log in here first (GET ?dev_sno=&hex_mac=) and report where and as often as the answer says. */
  loginUrl?: string;
  /** With loginUrl: log in again this often (a period changed on the platform takes effect). */
  reloginIntervalMs: number;
  /** The MAC to log in with and report (aa:bb:cc:dd:ee:ff); else the main interface's. */
  mac?: string;
  /** `rich` sends the box's own health (gateway_*); `current` today's report. */
  dialect: AgentDialect;
  gatewaySn?: string;
  gatewayName?: string;
  sdkVersion?: string;
  /** Seconds between rounds; with loginUrl, until the platform tells its period. */
  intervalMs: number;
  /** The round's time limit: every probe of a round has answered (or is offline) by then. */
  probeTimeoutMs: number;
  /** Most probes (connections) to one host:port at a time. */
  probeConnectionsPerHost: number;
  postTimeoutMs: number;
  failuresBeforeOffline: number;
  includeReportTime: boolean;
  queue: { dir: string; maxReports: number };
  backoff: { initialMs: number; maxMs: number };
  subDevices: SubDeviceSpec[];
}

export interface ConfigIssue {
  field: string;
  reason: string;
}

export class AgentConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: ConfigIssue[],
  ) {
    super(`invalid agent config ${source}:\n${issues.map((i) => `  ${i.field}: ${i.reason}`).join('\n')}`);
    this.name = 'AgentConfigError';
  }
}

const compiled = TypeCompiler.Compile(AgentConfigSchema);
const compiledSubDevice = TypeCompiler.Compile(SubDeviceConfigSchema);

const describe = (error: ValueError) =>
  describeValueError(error, { array: 'must be a list', object: 'must be a mapping of settings' });

function schemaIssues(value: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  for (const error of compiled.Errors(value)) {
    const field = pointerToField(error.path);
    // One reason per field: a bad union member also fails each literal, say it once.
    if (seen.has(field)) continue;
    seen.add(field);
    const reason =
      error.value === undefined ? 'is required' : field === 'mac' && typeof error.value === 'string' ? 'must be a MAC address: aa:bb:cc:dd:ee:ff (or 12 hex digits)' : describe(error);
    issues.push({ field: field === '(body)' ? '(config)' : field, reason });
    if (issues.length >= 20) break;
  }
  return issues;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** The settings each type needs and the ones it may have. */
const TYPE_FIELDS: Record<EpType, { needs: string; allowed: string[] }> = {
  rtsp: { needs: 'url', allowed: ['url'] },
  photo: { needs: 'ip', allowed: ['ip', 'port', 'channel'] },
  gb28181: { needs: 'ip', allowed: ['ip', 'port', 'sip_id', 'channel'] },
  file: { needs: 'path', allowed: ['path'] },
};
const TARGET_FIELDS = ['ip', 'url', 'path', 'port', 'sip_id', 'channel'] as const;

/**
 * Validates a parsed config object and resolves defaults. `baseDir` anchors relative paths
 * (queue dir, file sub-devices): the config file's folder.
 */
export function resolveConfig(raw: unknown, baseDir: string, source = '(inline)'): AgentConfig {
  // Every mistake at once: the checks below run on whatever the schema found well-typed.
  const issues = schemaIssues(raw);
  if (issues.length && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) throw new AgentConfigError(source, issues);
  const badFields = new Set(issues.map((i) => i.field));
  const bad = (field: string) => badFields.has(field) || [...badFields].some((f) => f.startsWith(`${field}.`) || f.startsWith(`${field}[`));
  const file = raw as AgentConfigFile;
  const devSno = typeof file.dev_sno === 'string' ? file.dev_sno.trim() : '';
  if (!bad('dev_sno')) {
    if (devSno === '') issues.push({ field: 'dev_sno', reason: 'must not be empty' });
    if (devSno.includes('__')) issues.push({ field: 'dev_sno', reason: 'must not contain "__" (it separates dev_sno from the ip in ep_id)' });
  }

  for (const field of ['report_url', 'login_url'] as const) {
    const value = file[field];
    if (bad(field) || value === undefined) continue;
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        issues.push({ field, reason: `must be an http:// or https:// URL (got ${url.protocol}//)` });
      }
    } catch {
      issues.push({ field, reason: `is not a valid URL: ${JSON.stringify(value)}` });
    }
  }
  if (!bad('report_url') && !bad('login_url') && typeof file === 'object') {
    if (file.report_url === undefined && file.login_url === undefined) {
      issues.push({ field: 'report_url', reason: 'is required (or set login_url: the platform then hands out the report URL)' });
    } else if (file.report_url !== undefined && file.login_url !== undefined) {
      issues.push({ field: 'report_url', reason: 'must not be set with login_url (the platform hands out the report URL at login)' });
    }
  }
  if (file.relogin_interval_s !== undefined && file.login_url === undefined && !bad('relogin_interval_s')) {
    issues.push({ field: 'relogin_interval_s', reason: 'is only used with login_url' });
  }

  const backoffInitial = bad('backoff.initial_s') ? CONFIG_DEFAULTS.backoff_initial_s : (file.backoff?.initial_s ?? CONFIG_DEFAULTS.backoff_initial_s);
  const backoffMax = bad('backoff.max_s') ? backoffInitial : (file.backoff?.max_s ?? Math.max(CONFIG_DEFAULTS.backoff_max_s, backoffInitial));
  if (backoffMax < backoffInitial) issues.push({ field: 'backoff.max_s', reason: `must be at least backoff.initial_s (${backoffInitial})` });

  // First each sub-device on its own, then their ep_ids together (channels of one address).
  const candidates: Array<SubDeviceSpec & { index: number; needs: string; channel: string | undefined }> = [];
  (Array.isArray(file.sub_devices) ? file.sub_devices : []).forEach((sub, i) => {
    // A sub-device the schema already faulted is reported once, by the schema.
    if (bad(`sub_devices[${i}]`) || !compiledSubDevice.Check(sub)) return;
    const at = (name: string) => `sub_devices[${i}].${name}`;
    const { needs, allowed } = TYPE_FIELDS[sub.type];
    const before = issues.length;
    if (sub[needs as keyof typeof sub] === undefined) issues.push({ field: at(needs), reason: `is required for type ${sub.type}` });
    for (const f of TARGET_FIELDS) {
      if (sub[f] !== undefined && !allowed.includes(f)) issues.push({ field: at(f), reason: `is not used by type ${sub.type} (it takes ${allowed.join(', ')})` });
    }
    if (issues.length > before) return;
    let target: ProbeTarget;
    let epIp: string;
    let idPart: string;
    let label: string;
    switch (sub.type) {
      case 'rtsp': {
        try {
          const parsed = parseRtspUrl(sub.url!.trim());
          target = { type: 'rtsp', url: sub.url!.trim() };
          // The platform must never see the camera's password: ep_id and logs use the bare URL.
          idPart = parsed.publicUrl;
          epIp = parsed.host;
          label = parsed.publicUrl;
        } catch (err) {
          issues.push({ field: at('url'), reason: (err as Error).message });
          return;
        }
        break;
      }
      case 'photo':
      case 'gb28181': {
        const host = sub.ip!.trim();
        if (!isIP(host) && !HOSTNAME.test(host)) {
          issues.push({ field: at('ip'), reason: `is not an IP address or host name: ${JSON.stringify(sub.ip)}` });
          return;
        }
        const port = sub.port ?? (sub.type === 'photo' ? CONFIG_DEFAULTS.photo_port : DEFAULT_SIP_PORT);
        target = sub.type === 'photo' ? { type: 'photo', host, port } : { type: 'gb28181', host, port, ...(sub.sip_id ? { sipId: sub.sip_id } : {}) };
        idPart = host;
        epIp = host;
        label = `${sub.type === 'photo' ? 'tcp' : 'sip'}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
        break;
      }
      case 'file': {
        const path = isAbsolute(sub.path!) ? sub.path! : resolve(baseDir, sub.path!);
        target = { type: 'file', path };
        idPart = path;
        epIp = '';
        label = path;
        break;
      }
    }
    const channel = sub.channel?.trim() || undefined;
    if (sub.channel !== undefined && !channel) issues.push({ field: at('channel'), reason: 'must not be empty' });
    candidates.push({ index: i, needs, channel, type: sub.type, epId: makeEpId(devSno, idPart), epIp, epLocation: sub.ep_location.trim(), epName: (sub.ep_name ?? '').trim(), target, label });
  });

  // Several sub-devices on one address (channels of one NVR, a gate and a camera on one IP)
  // would share `<dev_sno>__<ip>`: each gets `<dev_sno>__<ip>#<channel>`, the channel being
  // its `channel` setting, else its sip_id, else its ep_name. A `channel` setting always
  // applies. (The receiver takes any ep_id that starts with `<dev_sno>__`.)
  const sharing = new Map<string, number>();
  for (const c of candidates) sharing.set(c.epId, (sharing.get(c.epId) ?? 0) + 1);
  const subDevices: SubDeviceSpec[] = [];
  const byEpId = new Map<string, number>();
  for (const { index, needs, channel, ...spec } of candidates) {
    const at = (name: string) => `sub_devices[${index}].${name}`;
    const shared = (sharing.get(spec.epId) ?? 0) > 1;
    if ((shared || channel) && (spec.type === 'photo' || spec.type === 'gb28181')) {
      const t = spec.target;
      const name = channel ?? (t.type === 'gb28181' ? t.sipId : undefined) ?? (spec.epName || undefined);
      if (!name) {
        issues.push({ field: at('channel'), reason: `is needed: other sub-devices share ${spec.epId}; give each a channel (e.g. the NVR channel number) or an ep_name` });
        continue;
      }
      spec.epId = `${spec.epId}#${name}`;
    }
    const first = byEpId.get(spec.epId);
    if (first !== undefined) {
      const field = spec.type === 'photo' || spec.type === 'gb28181' ? 'channel' : needs;
      issues.push({ field: at(field), reason: `gives the same ep_id as sub_devices[${first}] (${spec.epId}); each sub-device must be distinct` });
      continue;
    }
    byEpId.set(spec.epId, index);
    subDevices.push(spec);
  }
  if (issues.length) throw new AgentConfigError(source, issues);

  const queueDir = file.queue?.dir ?? CONFIG_DEFAULTS.queue_dir;
  return {
    source,
    devSno,
    ...(file.report_url !== undefined ? { reportUrl: file.report_url } : {}),
    ...(file.login_url !== undefined ? { loginUrl: file.login_url } : {}),
    reloginIntervalMs: Math.round((file.relogin_interval_s ?? CONFIG_DEFAULTS.relogin_interval_s) * 1000),
    ...(file.mac !== undefined ? { mac: formatMac(file.mac) } : {}),
    // The richer dialect by default where the platform is ours to log in to; today's otherwise,
    // so an agent set up before keeps sending exactly what it sent.
    dialect: file.dialect ?? (file.login_url !== undefined ? 'rich' : 'current'),
    ...(file.gateway_sn !== undefined ? { gatewaySn: file.gateway_sn.trim() } : {}),
    ...(file.gateway_name !== undefined ? { gatewayName: file.gateway_name.trim() } : {}),
    ...(file.sdk_version !== undefined ? { sdkVersion: file.sdk_version.trim() } : {}),
    intervalMs: Math.round((file.interval_s ?? CONFIG_DEFAULTS.interval_s) * 1000),
    probeTimeoutMs: Math.round((file.probe_timeout_s ?? CONFIG_DEFAULTS.probe_timeout_s) * 1000),
    probeConnectionsPerHost: file.probe_connections_per_host ?? CONFIG_DEFAULTS.probe_connections_per_host,
    postTimeoutMs: Math.round((file.post_timeout_s ?? CONFIG_DEFAULTS.post_timeout_s) * 1000),
    failuresBeforeOffline: file.failures_before_offline ?? CONFIG_DEFAULTS.failures_before_offline,
    includeReportTime: file.include_report_time ?? false,
    queue: {
      dir: isAbsolute(queueDir) ? queueDir : resolve(baseDir, queueDir),
      maxReports: file.queue?.max_reports ?? CONFIG_DEFAULTS.queue_max_reports,
    },
    backoff: { initialMs: Math.round(backoffInitial * 1000), maxMs: Math.round(backoffMax * 1000) },
    subDevices,
  };
}

/** aa:bb:cc:dd:ee:ff from any of the forms the login accepts (aabbccddeeff, aa-bb-…). */
function formatMac(mac: string): string {
  const hex = mac.replace(/[:-]/g, '').toLowerCase();
  return hex.match(/../g)!.join(':');
}

/** Reads, parses (YAML, or JSON for *.json) and validates a config file. */
export function loadConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new AgentConfigError(file, [{ field: '(file)', reason: `cannot read it: ${why} (see examples/agent.yaml)` }]);
  }
  let raw: unknown;
  try {
    raw = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new AgentConfigError(file, [{ field: '(file)', reason: `is not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}` }]);
  }
  if (raw === null || raw === undefined) throw new AgentConfigError(file, [{ field: '(file)', reason: 'is empty' }]);
  return resolveConfig(raw, dirname(resolve(file)), file);
}
