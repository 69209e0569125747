// The list filters: a search box (debounced) and a segmented choice whose buttons say which one
// is on with aria-pressed (and a visible style), not colour alone.
import { useEffect, useRef, useState } from 'preact/hooks';

export function SearchBox(props: { value: string; placeholder: string; label: string; onSearch(q: string): void; delayMs?: number; list?: string }) {
  const [text, setText] = useState(props.value);
  const timer = useRef<number | null>(null);
  useEffect(() => () => {
    if (timer.current !== null) window.clearTimeout(timer.current);
  }, []);
  return (
    <input
      type="search"
      value={text}
      placeholder={props.placeholder}
      aria-label={props.label}
      autocomplete="off"
      list={props.list}
      onInput={(ev) => {
        const value = ev.currentTarget.value;
        setText(value);
        if (timer.current !== null) window.clearTimeout(timer.current);
        timer.current = window.setTimeout(() => {
          timer.current = null;
          props.onSearch(value.trim());
        }, props.delayMs ?? 250);
      }}
    />
  );
}

export interface Choice<V extends string> {
  value: V;
  label: string;
}

export function Segmented<V extends string>(props: { label: string; choices: Choice<V>[]; value: V; onChange(value: V): void }) {
  return (
    <div class="segmented" role="group" aria-label={props.label}>
      {props.choices.map((c) => (
        <button
          key={c.value}
          type="button"
          class={c.value === props.value ? 'seg active' : 'seg'}
          aria-pressed={c.value === props.value}
          data-value={c.value}
          onClick={() => props.onChange(c.value)}
        >
          {c.label}
        </button>
      ))}
    </div>
  );
}
