import { fmt } from './dom.js';

// Inline SVG charts drawn here (no chart library, no CDN).
const NS = 'http://www.w3.org/2000/svg';

function svg(tag, attributes = {}, text) {
  const element = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Completions per minute as columns, the time axis labelled at both ends. */
export function throughputChart(perMinute) {
  const width = 600;
  const height = 160;
  const pad = { left: 34, right: 6, top: 8, bottom: 20 };
  const max = Math.max(1, ...perMinute.map(([, count]) => count));
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': 'users finished per minute' });
  const plotWidth = width - pad.left - pad.right;
  const plotHeight = height - pad.top - pad.bottom;
  const step = plotWidth / Math.max(1, perMinute.length);
  perMinute.forEach(([minute, count], index) => {
    const barHeight = (count / max) * plotHeight;
    const bar = svg('rect', {
      class: 'bar',
      x: pad.left + index * step + 1,
      y: pad.top + plotHeight - barHeight,
      width: Math.max(1, step - 2),
      height: barHeight,
    });
    bar.append(svg('title', {}, `${new Date(minute).toISOString().slice(11, 16)} UTC: ${fmt(count)} users`));
    chart.append(bar);
  });
  chart.append(svg('line', { x1: pad.left, x2: width - pad.right, y1: pad.top + plotHeight, y2: pad.top + plotHeight, stroke: '#a9b1bc' }));
  chart.append(svg('text', { x: pad.left - 4, y: pad.top + 10, 'text-anchor': 'end' }, fmt(max)));
  chart.append(svg('text', { x: pad.left - 4, y: pad.top + plotHeight, 'text-anchor': 'end' }, '0'));
  if (perMinute.length > 0) {
    const label = (minute) => `${new Date(minute).toISOString().slice(11, 16)} UTC`;
    chart.append(svg('text', { x: pad.left, y: height - 4 }, label(perMinute[0][0])));
    chart.append(svg('text', { x: width - pad.right, y: height - 4, 'text-anchor': 'end' }, label(perMinute.at(-1)[0])));
  }
  return chart;
}

/** Horizontal bars, one per key with its count; a click calls `onPick(key)`. */
export function barList(items, onPick, label) {
  const rowHeight = 22;
  const width = 600;
  const labelWidth = 260;
  const max = Math.max(1, ...items.map((item) => item.users));
  const height = Math.max(rowHeight, items.length * rowHeight);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-label': label });
  items.forEach((item, index) => {
    const y = index * rowHeight;
    chart.append(svg('text', { x: labelWidth - 6, y: y + 15, 'text-anchor': 'end' }, item.key.length > 40 ? `${item.key.slice(0, 39)}…` : item.key));
    const bar = svg('rect', {
      class: 'bar fail',
      x: labelWidth,
      y: y + 3,
      width: Math.max(2, ((width - labelWidth - 60) * item.users) / max),
      height: rowHeight - 6,
      'data-key': item.key,
      tabindex: 0,
    });
    bar.append(svg('title', {}, `${item.key}: ${fmt(item.users)} users — click to filter`));
    bar.addEventListener('click', () => onPick(item.key));
    chart.append(bar);
    chart.append(svg('text', { x: labelWidth + 4 + ((width - labelWidth - 60) * item.users) / max + 2, y: y + 15 }, fmt(item.users)));
  });
  return chart;
}

/** The progress bar: one segment per state group. */
export function progressBar(counts, total) {
  const groups = [
    ['applied', ['applied', 'rolled-back'], '#3f9d5a'],
    ['failed', ['failed', 'rollback-failed'], '#c2414f'],
    ['retrying', ['retrying'], '#e0a030'],
    ['skipped/cancelled', ['skipped', 'cancelled'], '#9aa3ad'],
  ];
  const bar = document.createElement('div');
  bar.className = 'progress';
  bar.setAttribute('role', 'img');
  for (const [name, states, color] of groups) {
    const count = states.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
    if (count === 0 || total === 0) continue;
    const part = document.createElement('span');
    part.style.width = `${(100 * count) / total}%`;
    part.style.background = color;
    part.title = `${name}: ${fmt(count)}`;
    bar.append(part);
  }
  bar.setAttribute('aria-label', `progress of ${fmt(total)} users`);
  return bar;
}
