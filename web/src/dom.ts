// The one way the dashboard builds DOM: strings always become text nodes or property values,
// never HTML. Box-supplied strings (dev_sno, ep_name, ep_location...) go through here only.
export type Child = Node | string | number | null | undefined | false;

export interface Props {
  class?: string;
  title?: string;
  href?: string;
  type?: string;
  name?: string;
  value?: string;
  placeholder?: string;
  autocomplete?: string;
  ariaLabel?: string;
  role?: string;
  dateTime?: string;
  disabled?: boolean;
  hidden?: boolean;
  data?: Record<string, string>;
  on?: { [K in keyof HTMLElementEventMap]?: (ev: HTMLElementEventMap[K]) => void };
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { class: cls, data, on, ariaLabel, role, ...rest } = props;
  if (cls) node.className = cls;
  if (ariaLabel) node.setAttribute('aria-label', ariaLabel);
  if (role) node.setAttribute('role', role);
  for (const [k, v] of Object.entries(rest)) {
    if (v !== undefined) (node as unknown as Record<string, unknown>)[k] = v;
  }
  if (data) for (const [k, v] of Object.entries(data)) node.dataset[k] = v;
  if (on) {
    for (const [type, fn] of Object.entries(on)) node.addEventListener(type, fn as EventListener);
  }
  append(node, children);
  return node;
}

export function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}
