// The one way the UI talks to carrel: its JSON API on this same origin, with the session cookie
// and, for anything that changes something, the session's CSRF token. Nothing is kept in
// browser storage; the session lives in the HttpOnly cookie and this module's memory.

let csrf = '';

export function setCsrf(token) { csrf = token || ''; }

// The answer: { ok, status, data } or, for a refusal, { ok: false, status, problem } where
// problem is the server's problem details (title, detail, errors by field).
export async function call(method, path, body, { idempotencyKey } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    return { ok: false, status: 0, problem: { title: 'No connection', detail: 'The library\u2019s server could not be reached. Check the connection and try again.' } };
  }
  const type = res.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (res.ok) return { ok: true, status: res.status, data };
  return { ok: false, status: res.status, problem: data && typeof data === 'object' ? data : { title: 'Error', detail: String(data) } };
}

export const get = (path) => call('GET', path);
export const post = (path, body, options) => call('POST', path, body ?? {}, options);
export const put = (path, body) => call('PUT', path, body ?? {});
export const patch = (path, body) => call('PATCH', path, body ?? {});
export const del = (path) => call('DELETE', path);

// Every page of a list (the API answers lists a page at a time, with a `next` link).
export async function all(path, key) {
  const items = [];
  let next = path;
  while (next) {
    const page = await get(next);
    if (!page.ok) return page;
    items.push(...page.data[key]);
    next = page.data.next;
  }
  return { ok: true, status: 200, data: { [key]: items } };
}

// A fresh key for a retry-safe request (checkout, checkin, renewal, payment...).
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
