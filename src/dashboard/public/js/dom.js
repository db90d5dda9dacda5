// DOM helpers: text is always set with textContent (never parsed as HTML).
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') element.addEventListener(key.slice(2), value);
    else if (key === 'className') element.className = value;
    else if (key === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export const $ = (id) => document.getElementById(id);
export const fmt = (n) => Number(n ?? 0).toLocaleString('en-US');
export const when = (ms) => (ms ? new Date(ms).toISOString().replace('T', ' ').slice(0, 19) : '');

export function flash(message, bad = false) {
  const box = $('flash');
  box.textContent = message;
  box.classList.toggle('bad', bad);
  box.hidden = !message;
}

export const stateBadge = (state) => h('span', { className: `badge s-${state}` }, state);
export const campaignBadge = (state) => h('span', { className: `badge c-${state}` }, state);

/** A table: headers, then rows of cells (strings or nodes). */
export function table(headers, rows, attributes = {}) {
  return h(
    'table',
    attributes,
    h('thead', {}, h('tr', {}, headers.map((header) => (header instanceof Node ? header : h('th', {}, header))))),
    h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell) => (cell instanceof Node && cell.tagName === 'TD' ? cell : h('td', {}, cell)))))),
  );
}

/** Replaces an element's children, leaving out null/undefined/false (conditional parts). */
export function fill(element, ...children) {
  element.replaceChildren();
  append(element, children);
}
