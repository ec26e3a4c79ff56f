// Devices: the registry, one page at a time (GET /api/v1/devices with prefix, version, tag,
// limit and after), searchable by id prefix, running version and tag.

import {badge, h, replaceKeepingFocus, table} from '../dom.js';
import {query} from '../api.js';
import {formatAgo, formatCount, formatTime} from '../format.js';

export const PAGE_SIZE = 50;
const FILTERS = [
  {name: 'prefix', label: 'Device id starts with', hint: 'Letters, digits, . _ -'},
  {name: 'version', label: 'Running version', hint: 'Exactly, e.g. 1.2.0'},
  {name: 'tag', label: 'Tag', hint: 'Devices that have this tag'},
];

// A time as "5 min ago", with the exact time for hover and assistive technology.
export function timeCell(ms) {
  if (ms === null || ms === undefined) {
    return h('span', {class: 'muted'}, 'never');
  }
  return h('time', {datetime: new Date(ms).toISOString(), title: formatTime(ms)},
           `${formatAgo(ms)} (${formatTime(ms)})`);
}

export function createDevicesPage(ctx, _match, params) {
  const inputs = {};
  const fields = FILTERS.map((filter) => {
    const input = h('input', {id: `filter-${filter.name}`, name: filter.name, type: 'search',
                              autocomplete: 'off', spellcheck: 'false', maxlength: '64',
                              value: params.get(filter.name) ?? '',
                              'aria-describedby': `filter-${filter.name}-hint`});
    inputs[filter.name] = input;
    return h('div', {class: 'field'}, h('label', {for: `filter-${filter.name}`}, filter.label),
             input, h('p', {id: `filter-${filter.name}-hint`, class: 'hint'}, filter.hint));
  });
  const form = h('form', {class: 'form-row', role: 'search', 'aria-label': 'Find devices'},
      fields, h('div', {class: 'actions'}, h('button', {type: 'submit'}, 'Search'),
                h('button', {type: 'button', class: 'secondary', id: 'clear-search'}, 'Clear')));
  const results = h('div', {id: 'devices-table'});
  const summary = h('p', {id: 'devices-summary', role: 'status'});
  const firstButton = h('button', {type: 'button', class: 'secondary', id: 'first-page'}, 'First page');
  const nextButton = h('button', {type: 'button', class: 'secondary', id: 'next-page'}, 'Next page');
  const root = h('section', {'aria-labelledby': 'page-title'},
      h('h1', {id: 'page-title', tabindex: '-1'}, 'Devices'), form, summary, results,
      h('div', {class: 'pager'}, firstButton, nextButton));

  const filters = () => Object.fromEntries(FILTERS.map((filter) =>
    [filter.name, params.get(filter.name) ?? '']));
  let after = params.get('after') ?? '';
  let pageNumber = after ? null : 1;  // unknown when opened on a later page by URL
  let nextAfter = '';
  let last = '';

  function applyFilters(newFilters) {
    for (const filter of FILTERS) {
      if (newFilters[filter.name]) {
        params.set(filter.name, newFilters[filter.name]);
      } else {
        params.delete(filter.name);
      }
    }
    if (after) {
      params.set('after', after);
    } else {
      params.delete('after');
    }
    const search = params.toString();
    ctx.replaceQuery(`#/devices${search ? `?${search}` : ''}`);
    last = '';
    return ctx.refresh();
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    after = '';
    pageNumber = 1;
    applyFilters(Object.fromEntries(FILTERS.map((filter) =>
      [filter.name, inputs[filter.name].value.trim()])));
  });
  root.querySelector('#clear-search').addEventListener('click', () => {
    FILTERS.forEach((filter) => { inputs[filter.name].value = ''; });
    after = '';
    pageNumber = 1;
    applyFilters({});
  });
  firstButton.addEventListener('click', () => {
    after = '';
    pageNumber = 1;
    applyFilters(filters());
  });
  nextButton.addEventListener('click', () => {
    after = nextAfter;
    pageNumber = pageNumber === null ? null : pageNumber + 1;
    applyFilters(filters()).then(() => nextButton.disabled && firstButton.focus());
  });

  return {
    root,
    title: 'Devices',
    async refresh() {
      const answer = await ctx.api(`/api/v1/devices${query({...filters(), after, limit: PAGE_SIZE})}`);
      // Redrawn at least every 15 s, so "5 min ago" stays true.
      const json = JSON.stringify([Math.floor(Date.now() / 15000), answer]);
      if (json === last) {
        return;
      }
      last = json;
      const devices = answer.devices;
      nextAfter = answer.next_after ?? '';
      nextButton.disabled = !nextAfter;
      firstButton.disabled = !after;
      const anyFilter = FILTERS.some((filter) => filters()[filter.name]);
      const where = pageNumber ? `page ${pageNumber}` : 'a later page';
      summary.textContent = devices.length === 0 ? 'No device matches.' :
          `${formatCount(devices.length)} device${devices.length === 1 ? '' : 's'} on ${where}` +
          `${anyFilter ? ' matching the search' : ''}${nextAfter ? '; more on the next page' : ''}.`;
      replaceKeepingFocus(results, table({
        caption: 'Devices, by id',
        columns: [{label: 'Device'}, {label: 'Version'}, {label: 'Last check-in'},
                  {label: 'Last event'}, {label: 'Tags'}, {label: 'Project'}, {label: 'Chip'}],
        rows: devices.map((device) => [
          h('a', {href: `#/devices/${encodeURIComponent(device.id)}`}, device.id),
          device.version || h('span', {class: 'muted'}, 'unknown'),
          timeCell(device.last_checkin_at_ms),
          device.last_event_state ?
            h('span', null, badge(device.last_event_state), ' ', timeCell(device.last_event_at_ms)) :
            h('span', {class: 'muted'}, 'none'),
          device.tags.length ? device.tags.join(', ') : h('span', {class: 'muted'}, 'none'),
          device.project,
          device.chip,
        ]),
        rowKeys: devices.map((device) => device.id),
        empty: 'No device matches.',
      }));
    },
  };
}
