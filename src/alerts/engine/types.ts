// The model of the alert decision engine: what goes in (AlertEvent), what the engine keeps
// (Problem, groups, flapping, budgets: AlertEngineState) and what comes out (Notification,
// SuppressedEvent). Pure data, JSON-serializable, times are epoch milliseconds.

export type SubjectKind = 'box' | 'sub_device';
/** box offline is more urgent than one camera (see routing.ts severityOf). */
export type Severity = 'critical' | 'warning' | 'info';

/** One status transition with the details a notification needs (names, not ids). */
export interface AlertEvent {
  /** Stable id (e.g. the history row id): covered lists name events by it. */
  id: string;
  kind: SubjectKind;
  dev_sno: string;
  box_name: string | null;
  /** null when the event is about the box itself. */
  ep_id: string | null;
  ep_name: string | null;
  /** photo | rtsp | file | gb28181 (protocol EP_TYPES). */
  ep_type: string | null;
  /** ep_ip: the camera's IP or RTSP URL. */
  address: string | null;
  /** The box's location/site from the registry. */
  location_id: string | null;
  location_name: string | null;
  /** The box's group from the registry. */
  group: string | null;
  from: string | null;
  to: string;
  /** When the transition happened (ms). */
  at: number;
  /** first_seen | report | missing_from_report | report_timeout */
  reason: string;
  ep_detail?: Record<string, unknown> | null;
  /** A camera gone offline: why, as its box said (the history row's detail, from ep_detail). */
  detail?: string | null;
}

/** Key of a box or sub-device: `box:<dev_sno>` or `sub:<ep_id>` (same as store/alert-plan.ts). */
export type SubjectKey = string;

export interface Acknowledgement {
  by: string;
  at: number;
  note: string | null;
}

/** Per (problem, rule) reminder bookkeeping. */
export interface ProblemNotice {
  rule_id: string;
  /** When a notification about this problem last went out under this rule (null: never). */
  last_notified_at: number | null;
  reminders_sent: number;
  next_reminder_at: number | null;
  /** When escalation is next looked at (pushed past a silence); null: never. */
  escalation_due_at: number | null;
  escalated_at: number | null;
}

/** An open problem: a subject that is offline/unknown now. Closed (deleted) on recovery. */
export interface Problem {
  subject: SubjectKey;
  kind: SubjectKind;
  status: string;
  /** When the subject left online (first problem transition). */
  since: number;
  /** The latest event about the subject. */
  event: AlertEvent;
  acknowledged: Acknowledgement | null;
  notices: Record<string, ProblemNotice>;
}

export type GroupBy = 'box' | 'location' | 'fleet';

export interface RuleMatch {
  kinds?: SubjectKind[];
  severities?: Severity[];
  /** location ids (or names) of the box. */
  locations?: string[];
  groups?: string[];
  /** dev_sno of boxes. */
  boxes?: string[];
}

/** A route: which events go to which channels, grouped how, reminded how often. */
export interface Rule {
  id: string;
  name?: string;
  /** Absent fields match everything. */
  match?: RuleMatch;
  channels: string[];
  group_by?: GroupBy;
  group_wait_s?: number;
  group_interval_s?: number;
  /** Re-notify open unacknowledged problems this often (absent/0 = never). */
  reminder_every_min?: number;
  /** Escalate open unacknowledged problems this long after they began (absent/0 = never). */
  escalate_after_min?: number;
  escalate_channels?: string[];
  /** Send recoveries (default true). */
  send_recoveries?: boolean;
}

export interface SilenceMatchers {
  boxes?: string[];
  ep_ids?: string[];
  locations?: string[];
  groups?: string[];
}

export interface RecurringWindow {
  /** 5- or 6-field cron expression of the window's start, evaluated in tz. */
  cron: string;
  duration_min: number;
  /** IANA time zone, e.g. Asia/Shanghai. */
  tz: string;
}

/**
 * A silence / maintenance window. Every given matcher must match (a list matches any of its
 * values). One-off: starts_at..ends_at. Recurring: inside a cron window, and within
 * starts_at..ends_at when those are set.
 */
export interface Silence {
  id: string;
  matchers: SilenceMatchers;
  starts_at?: number | null;
  ends_at?: number | null;
  recurring?: RecurringWindow | null;
  created_by: string;
  comment: string;
  created_at: number;
}

export type ItemChange =
  /** went offline / unknown */
  | 'problem'
  /** came back online */
  | 'recovery'
  /** ended where it started within one group window (e.g. offline and back) */
  | 'blip'
  /** any other change, e.g. removed from the box's report */
  | 'change'
  /** started flapping: further changes are held until it settles */
  | 'flapping'
  /** stopped flapping; `to` is where it settled */
  | 'settled'
  | 'reminder'
  | 'escalation';

/** One line of a notification: one subject, possibly several transitions. */
export interface NotificationItem {
  subject: SubjectKey;
  kind: SubjectKind;
  /** The rule that routed it here (digests mix groups of several rules). */
  rule_id: string;
  change: ItemChange;
  /** Latest event: names, type, address, reason. */
  event: AlertEvent;
  /** Status before the first covered transition (null: unknown). */
  from: string | null;
  to: string;
  /** Since when the subject is in the problem / in `to`. */
  since: number;
  covered_event_ids: string[];
  /** Cameras of this box folded into its line ("box X offline (8 cameras)"). */
  cameras?: NotificationItem[];
}

export type NotificationKind = 'problems' | 'recoveries' | 'mixed' | 'flapping' | 'reminder' | 'escalation' | 'test';

export interface NotificationCounts {
  boxes_problem: number;
  /** Cameras in trouble that are not folded under a box line. */
  cameras_problem: number;
  /** Distinct boxes of those cameras ("12 cameras offline at 3 boxes"). */
  cameras_problem_boxes: number;
  cameras_folded: number;
  boxes_recovered: number;
  cameras_recovered: number;
  flapping: number;
  other: number;
  /** Every transition covered (= covered_event_ids.length). */
  transitions: number;
}

export interface Notification {
  /** Deterministic: `<channel>#<seq>`. */
  id: string;
  channel: string;
  rule_id: string;
  /** Group key (`box:<dev_sno>`, `loc:<id>`, `fleet`, or `digest` for folded overflow). */
  group_key: string;
  group_label: string;
  /** Group keys a rate-limit digest folded together (absent otherwise). */
  folded_groups?: string[];
  kind: NotificationKind;
  severity: Severity;
  created_at: number;
  items: NotificationItem[];
  covered_event_ids: string[];
  counts: NotificationCounts;
}

export type SuppressReason = 'silenced' | 'covered_by_box' | 'not_news' | 'no_route' | 'recoveries_off';

/** An event accounted for without a notification (visible in the API). */
export interface SuppressedEvent {
  event_id: string;
  subject: SubjectKey;
  reason: SuppressReason;
  /** null: every channel. */
  channel: string | null;
  silence_id?: string;
  /** covered_by_box: the box's subject key. */
  covered_by?: SubjectKey;
  at: number;
}

/** What ingest and flush report: nothing is dropped, everything is in one of these. */
export interface EngineOutput {
  notifications: Notification[];
  suppressed: SuppressedEvent[];
}
