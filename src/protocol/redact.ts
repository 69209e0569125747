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
  // A password may hold "/", "?", "#" or "@" unescaped: the host follows the last "@" that is
  // followed by something shaped like a host (or, failing that, the last "@" at all).
  let at = -1;
  for (let i = url.lastIndexOf('@'); i >= start; i = url.lastIndexOf('@', i - 1)) {
    if (at === -1) at = i;
    if (HOST.test(url.slice(i + 1))) {
      at = i;
      break;
    }
    if (i === 0) break;
  }
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

function decodeSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
