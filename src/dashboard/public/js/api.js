// The JSON API client: the session's CSRF token on every state-changing request, errors as Error with status/body.
let csrfToken = '';
export const session = { who: '', role: 'read-only' };

export function setSession(value) {
  csrfToken = value.csrfToken ?? '';
  session.who = value.who ?? '';
  session.role = value.role ?? 'read-only';
}

export const isAdmin = () => session.role === 'admin';

export async function api(method, path, body, contentType) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : contentType ? body : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(data.error?.message ?? response.statusText), { status: response.status, body: data });
  }
  return data;
}

/** `?a=1&b=2` from an object, leaving out empty values. */
export function toQuery(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export const campaignPath = (name) => `/api/campaigns/${encodeURIComponent(name)}`;
