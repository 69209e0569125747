// The admin pages' forms (codes, locations, groups, channels, silences) in one piece: the submit
// is kept from reloading the page and from running twice, what the action says back is shown
// under the form (a success as status, a failure, whether our own check or the receiver's
// answer naming the field, as an alert), and each field is a labelled control.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { Unauthorized } from '../api.js';
import { handleError } from '../state/session.js';

/** A check of what was typed that failed: its message says what is wrong, shown as is. */
export class FormProblem extends Error {}

export interface AdminFormProps {
  /** `admin-form` (a row of fields), `inline-form` (in a table cell) or `panel form` (a card). */
  class: string;
  title?: string;
  submitLabel: string;
  /** Class of the submit button. */
  submitClass?: string;
  /** Does the work; resolves with what to tell (or nothing), throws with what went wrong. */
  onSubmit(): Promise<string | void>;
  /** Before the submit button (the fields). */
  children: ComponentChildren;
  /** After the submit button (a hint). */
  after?: ComponentChildren;
}

export function AdminForm(props: AdminFormProps) {
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    if (busy) return;
    setBusy(true);
    setMessage(null);
    try {
      const said = await props.onSubmit();
      setMessage(said ? { ok: true, text: said } : null);
    } catch (e) {
      // A lost login shows the login form, as everywhere.
      if (e instanceof Unauthorized) handleError(e);
      else setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class={props.class} onSubmit={(ev) => void submit(ev)}>
      {props.title ? <h2>{props.title}</h2> : null}
      {props.children}
      <button type="submit" class={props.submitClass ?? 'primary'} disabled={busy}>
        {props.submitLabel}
      </button>
      {props.after}
      {message ? (
        <p class={message.ok ? 'form-message result ok' : 'form-message result bad error'} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </p>
      ) : null}
    </form>
  );
}

/** A labelled control: the label's text, then the input, select… it names. */
export function Field({ label, children, class: cls }: { label: string; children: ComponentChildren; class?: string }) {
  return (
    <label class={cls}>
      <span>{label}</span>
      {children}
    </label>
  );
}
