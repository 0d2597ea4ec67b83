// Building the page: elements from plain values, never from HTML strings, so that nothing the
// server or a person typed can become markup.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, '');
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Replaces what `el` holds.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const weekdays = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
  'September', 'October', 'November', 'December'];

// "2026-12-25" as "Friday, December 25, 2026" (the date itself, whatever the browser's zone).
export function longDate(iso) {
  if (!iso) return '';
  const [y, m, d] = iso.split('-').map(Number);
  const day = new Date(Date.UTC(y, m - 1, d)).getUTCDay();
  return `${weekdays[day]}, ${months[m - 1]} ${d}, ${y}`;
}

export function shortDate(iso) {
  if (!iso) return '';
  const [y, m, d] = iso.split('-').map(Number);
  return `${months[m - 1].slice(0, 3)} ${d}, ${y}`;
}

// An instant in the library's own time zone.
export function localTime(instant, timeZone) {
  if (!instant) return '';
  return new Date(instant).toLocaleString('en-US', {
    timeZone, weekday: 'long', month: 'long', day: 'numeric', hour: 'numeric', minute: '2-digit',
  });
}

// "09:00-20:00" as "9:00 AM to 8:00 PM"; "closed" as "Closed".
export function hoursText(period) {
  if (!period || period === 'closed') return 'Closed';
  const clock = (hm) => {
    const [hh, mm] = hm.split(':').map(Number);
    const suffix = hh >= 12 ? 'PM' : 'AM';
    const h12 = hh % 12 === 0 ? 12 : hh % 12;
    return `${h12}:${String(mm).padStart(2, '0')} ${suffix}`;
  };
  const [open, close] = period.split('-');
  return `${clock(open)} to ${clock(close)}`;
}

export function money(cents) {
  return `$${(cents / 100).toFixed(2)}`;
}

// Moves focus to the page's main heading once a page is drawn, for screen readers and keyboards.
export function focusHeading(root) {
  const heading = root.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}
