// Stream addresses (ep_url) often carry the camera's user and password
// (rtsp://admin:secret@10.0.0.5:554/...). They are stored as sent, and shown through redactUrl.

/** Query parameters whose values are credentials on common cameras and platforms. */
const SECRET_PARAMS = /^(user(name)?|pass(word|wd)?|pwd|token|auth|key|secret|sign(ature)?|access_?token)$/i;

export const REDACTED = '***';

const HOST = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d+)?([/?#]|$)/i;

/**
 * The address without credentials: the user-info part becomes `***@` and the values of
 * credential-like query parameters become `***`. When in doubt (an `@` in an odd place) more is
 * hidden, never less. Text that is not a URL comes back unchanged.
 */
export function redactUrl(url: string): string {
  const scheme = url.indexOf('://');
  if (scheme === -1) return url;
  const start = scheme + 3;
  const at = userInfoEnd(url, start);
  let out = at >= start ? `${url.slice(0, start)}${REDACTED}@${url.slice(at + 1)}` : url;
  const q = out.indexOf('?');
  if (q !== -1) {
    const hash = out.indexOf('#', q);
    const query = out.slice(q + 1, hash === -1 ? undefined : hash);
    const redacted = query
      .split('&')
      .map((pair) => {
        const eq = pair.indexOf('=');
        return eq > 0 && SECRET_PARAMS.test(decodeSafe(pair.slice(0, eq))) ? `${pair.slice(0, eq + 1)}${REDACTED}` : pair;
      })
      .join('&');
    out = `${out.slice(0, q + 1)}${redacted}${hash === -1 ? '' : out.slice(hash)}`;
  }
  return out;
}

/** A URL inside free text: a scheme, then everything up to white space or a closing quote/bracket. */
const URL_IN_TEXT = /[a-z][a-z0-9+.-]*:\/\/[^\s"'<>()\[\]]+/gi;
/** `password=…`, `pwd: …`, `token=…` inside free text (the value runs to white space, `,`, `;` or `&`). */
const SECRET_PAIR_IN_TEXT = /\b(pass(?:word|wd)?|pwd|token|key|secret|sign(?:ature)?|access_?token)(\s*[=:]\s*)([^\s,;&]+)/gi;

/**
 * Free text (a box's ep_detail: "connect rtsp://admin:pw@10.0.0.5/ch1 failed") with the
 * credentials of every URL in it and the values of `password=…`-like pairs hidden. A reason is
 * shown on dashboards and sent to chat groups, so a secret in it must not survive ingest.
 */
export function redactText(text: string): string {
  if (!text.includes('://') && !/[=:]/.test(text)) return text;
  return text
    .replace(URL_IN_TEXT, (url) => redactUrl(url))
    .replace(SECRET_PAIR_IN_TEXT, (whole, key: string, sep: string, value: string) => (value === REDACTED || value.startsWith('//') ? whole : `${key}${sep}${REDACTED}`));
}

/**
 * The address with its user-info left out altogether (`rtsp://host/…`): a link to open, where
 * `***@` would only get in the way. The user-info is found as redactUrl finds it.
 */
export function withoutUserInfo(url: string): string {
  const scheme = url.indexOf('://');
  if (scheme === -1) return url;
  const start = scheme + 3;
  const at = userInfoEnd(url, start);
  return at >= start ? `${url.slice(0, start)}${url.slice(at + 1)}` : url;
}

/** Free text (an ep_id such as `BOX__rtsp://admin:pw@10.0.0.5/ch1`) with every URL in it withoutUserInfo. */
export function textWithoutUserInfo(text: string): string {
  return text.includes('://') ? text.replace(URL_IN_TEXT, withoutUserInfo) : text;
}

/**
 * The index of the "@" that ends the user-info of `url` (which starts at `start`), or -1. A
 * password may hold "/", "?", "#" or "@" unescaped: the host follows the last "@" that is
 * followed by something shaped like a host (or, failing that, the last "@" at all).
 */
function userInfoEnd(url: string, start: number): number {
  let at = -1;
  for (let i = url.lastIndexOf('@'); i >= start; i = url.lastIndexOf('@', i - 1)) {
    if (at === -1) at = i;
    if (HOST.test(url.slice(i + 1))) return i;
    if (i === 0) break;
  }
  return at;
}

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
