// What the console shows next to a box or camera that is down: is its open alert problem
// acknowledged (by whom, when) and is it silenced (by which silence, until when). Looked up for
// one page of subjects at a time, so the cost follows the page, not the fleet.
import { findSilence, silenceEndsAt } from './silences.js';
import type { Acknowledgement, Problem, Silence, SubjectKey } from './types.js';

export interface SubjectAlertState {
  subject: SubjectKey;
  acknowledged: Acknowledgement | null;
  silenced: { silence_id: string; until: number | null } | null;
}

/** The states of those of `subjects` that have an open problem (the others are not in the map). */
export function subjectAlertStates(
  problems: Readonly<Record<string, Problem>>,
  silences: readonly Silence[],
  subjects: Iterable<SubjectKey>,
  now: number,
): Map<SubjectKey, SubjectAlertState> {
  const out = new Map<SubjectKey, SubjectAlertState>();
  for (const subject of subjects) {
    const p = Object.hasOwn(problems, subject) ? problems[subject] : undefined;
    if (!p || out.has(subject)) continue;
    const s = findSilence(silences, p.event, now);
    out.set(subject, {
      subject,
      acknowledged: p.acknowledged ? { ...p.acknowledged } : null,
      silenced: s ? { silence_id: s.id, until: silenceEndsAt(s, now) } : null,
    });
  }
  return out;
}

/**
 * Subjects whose open problem is acknowledged or silenced now: what the console's "hide
 * acknowledged and silenced" leaves out. Open problems only, so the set follows what is down and
 * handled, not the fleet.
 */
export function handledSubjects(problems: Readonly<Record<string, Problem>>, silences: readonly Silence[], now: number): SubjectKey[] {
  const out: SubjectKey[] = [];
  for (const p of Object.values(problems)) if (p.acknowledged || findSilence(silences, p.event, now)) out.push(p.subject);
  return out;
}
