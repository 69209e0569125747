// A table of rows that becomes a list of cards on a phone (CSS, under 640 px): each cell carries
// its column's label for the card layout. Columns, row attributes and the empty text come from
// the caller, so every list of the console is one of these.
import type { ComponentChildren, HTMLAttributes } from 'preact';
import { useRef } from 'preact/hooks';
import { useFlash } from './flash.js';

export interface Column<T> {
  /** Stable name of the column (its label changes with the language). */
  id: string;
  label: string;
  /** Class of the column's cells (and header). */
  class?: string;
  cell(row: T): ComponentChildren;
  /** The server's sort key for this column: its header becomes a sort button. */
  sortKey?: string;
}

export interface SortState {
  key: string;
  desc: boolean;
}

export interface DataTableProps<T> {
  class: string;
  columns: Column<T>[];
  rows: T[];
  rowKey(row: T): string | number;
  rowProps?(row: T): HTMLAttributes<HTMLTableRowElement>;
  /** A row flashes when this changes (0: no flash). */
  rowFlash?(row: T): number;
  /** Shown instead of rows when there are none (nothing while still loading: null). */
  empty: ComponentChildren;
  sort?: SortState;
  onSort?(key: string): void;
}

function Header<T>({ c, sort, onSort }: { c: Column<T>; sort?: SortState; onSort?(key: string): void }) {
  if (!c.sortKey || !onSort) {
    return (
      <th class={c.class} scope="col">
        {c.label}
      </th>
    );
  }
  const on = sort?.key === c.sortKey;
  return (
    <th class={c.class} scope="col" aria-sort={on ? (sort.desc ? 'descending' : 'ascending') : undefined}>
      <button type="button" class={on ? 'sort-button on' : 'sort-button'} aria-pressed={on} onClick={() => onSort(c.sortKey!)}>
        {c.label}
        <span aria-hidden="true" class="sort-mark">
          {on ? (sort.desc ? '▼' : '▲') : '↕'}
        </span>
      </button>
    </th>
  );
}

export function DataTable<T>(props: DataTableProps<T>) {
  const { columns, rows } = props;
  return (
    <table class={`data-table ${props.class}`}>
      <thead>
        <tr>
          {columns.map((c) => (
            <Header key={c.id} c={c} sort={props.sort} onSort={props.onSort} />
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && props.empty ? (
          <tr class="empty-row">
            <td class="empty muted" colSpan={columns.length}>
              {props.empty}
            </td>
          </tr>
        ) : (
          rows.map((row) => (
            <Row key={props.rowKey(row)} attrs={props.rowProps?.(row) ?? {}} flash={props.rowFlash?.(row) ?? 0}>
              {columns.map((c) => (
                <td key={c.id} class={c.class} data-label={c.label}>
                  {c.cell(row)}
                </td>
              ))}
            </Row>
          ))
        )}
      </tbody>
    </table>
  );
}

function Row({ attrs, flash, children }: { attrs: HTMLAttributes<HTMLTableRowElement>; flash: number; children: ComponentChildren }) {
  const ref = useRef<HTMLTableRowElement>(null);
  useFlash(ref, flash);
  return (
    <tr {...attrs} ref={ref}>
      {children}
    </tr>
  );
}
