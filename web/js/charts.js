// Charts drawn as inline SVG, no library. Each chart is a <figure> whose SVG has role="img" and
// an aria-label that says what it shows in words, plus a data table in a <details> for the exact
// numbers; colour is never the only carrier (legends and tables name every series).
// Widths are measured from the container at drawing time so text keeps its size on a phone;
// pages redraw on every refresh and on resize.

import {h, replaceKeepingFocus, s, table} from './dom.js';
import {formatClock, formatCount, formatRate} from './format.js';

// The series of the rollout progress chart, bottom to top: each groups one or more device states.
export const PROGRESS_SERIES = [
  {name: 'confirmed', label: 'Confirmed', states: ['confirmed'], className: 'series-confirmed'},
  {name: 'progress', label: 'In progress (downloading … rebooting)',
   states: ['downloading', 'downloaded', 'verified', 'rebooting'], className: 'series-progress'},
  {name: 'offered', label: 'Offered', states: ['offered'], className: 'series-offered'},
  {name: 'rolled_back', label: 'Rolled back', states: ['rolled_back'],
   className: 'series-rolled-back'},
  {name: 'failed', label: 'Failed', states: ['failed'], className: 'series-failed'},
];

// Puts a freshly drawn figure in place of the old one, keeping its "Show as a table" open if
// the reader had opened it, and keyboard focus on it.
function swapFigure(container, figure) {
  const wasOpen = container.querySelector('details')?.open;
  const details = figure.querySelector('details');
  if (details) {
    details.open = Boolean(wasOpen);
    details.querySelector('summary').dataset.key = 'chart-table';
  }
  replaceKeepingFocus(container, figure);
}

function widthOf(container, fallback) {
  const width = Math.floor(container.clientWidth);
  return width > 0 ? width : fallback;
}

// A "nice" axis maximum at or above n: 1, 2, 5, 10, 20, 50, ...
function niceCeiling(n) {
  if (n <= 1) {
    return 1;
  }
  const power = 10 ** Math.floor(Math.log10(n));
  for (const step of [1, 2, 5, 10]) {
    if (step * power >= n) {
      return step * power;
    }
  }
  return 10 * power;
}

// Horizontal bars, one per item: the label above its bar, the value at the right.
// items: [{label, value}]; title: the figure caption. Returns the <figure>.
export function barChart(container, {title, items, valueLabel, emptyText}) {
  const figure = h('figure');
  const captionId = `fig-${Math.random().toString(36).slice(2, 10)}`;
  figure.append(h('figcaption', {id: captionId}, title));
  if (items.length === 0) {
    figure.append(h('p', {class: 'empty'}, emptyText));
    swapFigure(container, figure);
    return figure;
  }
  const width = widthOf(container, 600);
  const rowHeight = 38;
  const height = items.length * rowHeight;
  const max = Math.max(...items.map((item) => item.value), 1);
  const description = items.map((item) => `${item.label}: ${formatCount(item.value)}`).join('; ');
  const svg = s('svg', {width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
                        'aria-label': `${title}. ${description}.`});
  items.forEach((item, index) => {
    const top = index * rowHeight;
    const barWidth = Math.max(item.value > 0 ? 2 : 0, (item.value / max) * width);
    svg.append(
        s('text', {x: 0, y: top + 13}, item.label),
        s('text', {x: width, y: top + 13, 'text-anchor': 'end'}, formatCount(item.value)),
        s('rect', {class: 'bar-track', x: 0, y: top + 18, width, height: 12, rx: 2}),
        s('rect', {class: 'bar', x: 0, y: top + 18, width: barWidth, height: 12, rx: 2}));
  });
  figure.append(h('div', {class: 'chart'}, svg));
  figure.append(h('details', null, h('summary', null, 'Show as a table'),
      table({caption: title, columns: [{label: 'Version'}, {label: valueLabel, numeric: true}],
             rows: items.map((item) => [item.label, formatCount(item.value)])})));
  swapFigure(container, figure);
  return figure;
}

function seriesValue(counts, series) {
  return series.states.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
}

// Devices by state over time, as stacked step areas (a device's state changes at an instant and
// holds until the next sample). samples: [{t, counts}] oldest first, at least one; nowMs: the
// right edge. Returns the <figure>.
export function progressChart(container, {title, samples, nowMs}) {
  const figure = h('figure');
  figure.append(h('figcaption', null, title));
  const width = widthOf(container, 600);
  const height = 220;
  const left = 44;
  const right = 8;
  const top = 10;
  const bottom = 26;
  const plotWidth = Math.max(width - left - right, 10);
  const plotHeight = height - top - bottom;
  const points = samples.concat([{t: Math.max(nowMs, samples.at(-1).t), counts: samples.at(-1).counts}]);
  // The axis starts at the first sample and spans at least a minute, so a chart whose history
  // has just begun grows from the left instead of squeezing into a sliver.
  const t0 = points[0].t;
  const t1 = Math.max(points.at(-1).t, t0 + 60_000);
  const totals = points.map((point) =>
    PROGRESS_SERIES.reduce((sum, series) => sum + seriesValue(point.counts, series), 0));
  const yMax = niceCeiling(Math.max(...totals, 1));
  const x = (t) => left + ((t - t0) / (t1 - t0)) * plotWidth;
  const y = (v) => top + plotHeight - (v / yMax) * plotHeight;

  const latest = samples.at(-1).counts;
  const description = PROGRESS_SERIES.map((series) =>
    `${series.label}: ${formatCount(seriesValue(latest, series))}`).join('; ');
  const svg = s('svg', {width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
      'aria-label': `${title}, from ${formatClock(t0)} to ${formatClock(points.at(-1).t)}. ` +
                    `Now: ${description}.`});
  // Gridlines and the y axis: 0, half, max.
  for (const value of [0, yMax / 2, yMax]) {
    svg.append(s('line', {class: 'axis', x1: left, x2: left + plotWidth, y1: y(value), y2: y(value)}),
               s('text', {class: 'axis-label', x: left - 6, y: y(value) + 4, 'text-anchor': 'end'},
                 Number.isInteger(value) ? formatCount(value) : value.toFixed(1)));
  }
  svg.append(
      s('text', {class: 'axis-label', x: left, y: height - 6}, formatClock(t0)),
      s('text', {class: 'axis-label', x: left + plotWidth, y: height - 6, 'text-anchor': 'end'},
        formatClock(t1)));
  // Stacked step areas, bottom series first.
  const base = points.map(() => 0);
  for (const series of PROGRESS_SERIES) {
    const upper = points.map((point, i) => base[i] + seriesValue(point.counts, series));
    if (upper.some((value, i) => value !== base[i])) {
      const outline = [];
      points.forEach((point, i) => {
        const next = i + 1 < points.length ? points[i + 1].t : point.t;
        outline.push(`${x(point.t)},${y(upper[i])}`, `${x(next)},${y(upper[i])}`);
      });
      for (let i = points.length - 1; i >= 0; --i) {
        const next = i + 1 < points.length ? points[i + 1].t : points[i].t;
        outline.push(`${x(next)},${y(base[i])}`, `${x(points[i].t)},${y(base[i])}`);
      }
      svg.append(s('polygon', {class: series.className, points: outline.join(' ')},
                   s('title', null, series.label)));
    }
    upper.forEach((value, i) => { base[i] = value; });
  }
  figure.append(h('div', {class: 'chart'}, svg));
  figure.append(h('ul', {class: 'legend'}, PROGRESS_SERIES.map((series) =>
    h('li', null, h('span', {class: `swatch ${series.className}`, 'aria-hidden': 'true'}),
      `${series.label}: ${formatCount(seriesValue(latest, series))}`))));
  const recent = samples.slice(-20).reverse();
  figure.append(h('details', null,
      h('summary', null, 'Show as a table'),
      table({caption: `${title} (latest ${recent.length} samples)`,
             columns: [{label: 'Time'}].concat(PROGRESS_SERIES.map((series) =>
               ({label: series.label, numeric: true}))),
             rows: recent.map((sample) => [formatClock(sample.t)].concat(PROGRESS_SERIES.map(
               (series) => formatCount(seriesValue(sample.counts, series)))))})));
  swapFigure(container, figure);
  return figure;
}

// The failure rate on a scale with the halt threshold marked. rate and threshold are fractions.
export function rateMeter(container, {rate, threshold, judged}) {
  const width = widthOf(container, 600);
  const height = 46;
  const scaleMax = Math.min(1, niceCeiling(Math.max(threshold * 2, rate * 1.25, 0.05) * 100) / 100);
  const x = (fraction) => (Math.min(fraction, scaleMax) / scaleMax) * width;
  const over = judged && rate > threshold;
  const svg = s('svg', {width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
      'aria-label': `Failure rate ${formatRate(rate)}; the rollout halts above ` +
                    `${formatRate(threshold)}${over ? '; it is above the threshold' : ''}.`},
    s('rect', {class: 'bar-track', x: 0, y: 4, width, height: 16, rx: 3}),
    s('rect', {class: over ? 'rate-bad' : 'rate-ok', x: 0, y: 4,
               width: rate > 0 ? Math.max(2, x(rate)) : 0, height: 16, rx: 3}),
    s('line', {class: 'threshold', x1: x(threshold), x2: x(threshold), y1: 0, y2: 24}),
    s('text', {class: 'axis-label', x: 0, y: 40}, '0%'),
    s('text', {class: 'axis-label', x: width, y: 40, 'text-anchor': 'end'}, formatRate(scaleMax)));
  container.replaceChildren(h('div', {class: 'chart'}, svg));
}
