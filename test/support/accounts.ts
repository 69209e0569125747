// An API client for account tests: JSON in and out, with a bearer token or a session cookie.

/** A client of the API: JSON in and out, with a bearer token or a session cookie. */
export function apiClient(server: { url: string }, auth: { bearer?: string; cookie?: string }) {
  const headers = (): Record<string, string> => ({
    ...(auth.bearer ? { authorization: `Bearer ${auth.bearer}` } : {}),
    ...(auth.cookie ? { cookie: auth.cookie } : {}),
  });
  return async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...headers(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };
}

export async function login(server: { url: string }, username: string, password: string) {
  const res = await fetch(`${server.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  return { status: res.status, cookie: (res.headers.get('set-cookie') ?? '').split(';')[0]!, body: await res.json(), headers: res.headers };
}

