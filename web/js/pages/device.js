// One device (GET /api/v1/devices/ID?events=N): what it runs, when it was last heard from, and
// its event timeline, newest first.

import {badge, facts, h, replaceKeepingFocus} from '../dom.js';
import {formatCount, formatTime} from '../format.js';
import {timeCell} from './devices.js';

const EVENT_PAGE = 50;
const EVENT_MAX = 1000;

export function createDevicePage(ctx, [id]) {
  const heading = h('h1', {id: 'page-title', tabindex: '-1'}, `Device ${id}`);
  const details = h('div', {id: 'device-facts'});
  const timeline = h('div', {id: 'device-timeline'});
  const moreButton = h('button', {type: 'button', class: 'secondary', id: 'more-events'},
                       'Show older events');
  const root = h('section', {'aria-labelledby': 'page-title'},
      h('p', null, h('a', {href: '#/devices'}, '← All devices')), heading,
      h('div', {class: 'grid'},
        h('section', {class: 'panel', 'aria-labelledby': 'facts-title'},
          h('h2', {id: 'facts-title'}, 'Device'), details),
        h('section', {class: 'panel', 'aria-labelledby': 'timeline-title'},
          h('h2', {id: 'timeline-title'}, 'Event timeline'), timeline,
          h('div', {class: 'pager'}, moreButton))));
  let limit = EVENT_PAGE;
  let last = '';

  moreButton.addEventListener('click', async () => {
    limit = Math.min(EVENT_MAX, limit * 4);
    await ctx.refresh();
    moreButton.focus();
  });

  function eventItem(event) {
    const where = [];
    if (event.rollout_id !== null) {
      where.push(h('a', {href: `#/rollouts/${event.rollout_id}`}, `rollout #${event.rollout_id}`));
    }
    if (event.release_id !== null) {
      where.push(`release ${event.release_id}`);
    }
    const detail = [`version ${event.version || 'unknown'}`];
    if (event.bytes !== null) {
      detail.push(`${formatCount(event.bytes)} bytes`);
    }
    return h('li', {class: `ev-${event.state}`, 'data-event': event.id},
        h('div', null, badge(event.state), ' ', detail.join(', '),
          where.length ? [' · ', where.flatMap((part, i) => (i ? [', ', part] : [part]))] : null),
        h('div', {class: 'when'}, `received ${formatTime(event.received_at_ms)}` +
          (event.time_ms !== null ? `; device time ${formatCount(event.time_ms)} ms` : '') +
          `; event ${event.id}`),
        event.reason ? h('p', {class: 'reason'}, `Reason: ${event.reason}`) : null);
  }

  return {
    root,
    title: `Device ${id}`,
    async refresh() {
      const device = await ctx.api(`/api/v1/devices/${encodeURIComponent(id)}?events=${limit}`);
      // Redrawn at least every 15 s, so "5 min ago" stays true.
      const json = JSON.stringify([Math.floor(Date.now() / 15000), device]);
      if (json === last) {
        return;
      }
      last = json;
      details.replaceChildren(facts([
        ['Running version', device.version || 'unknown'],
        ['Secure version', String(device.secure_version)],
        ['Project', device.project],
        ['Chip', device.chip],
        ['Tags', device.tags.length ? device.tags.join(', ') : 'none'],
        ['Last check-in', timeCell(device.last_checkin_at_ms)],
        ['Last event', device.last_event_state ?
          h('span', null, badge(device.last_event_state), ' ', timeCell(device.last_event_at_ms)) :
          'none'],
        ['Registered', formatTime(device.created_at_ms)],
      ]));
      const events = device.events;
      replaceKeepingFocus(timeline, events.length === 0 ?
          h('p', {class: 'empty'}, 'This device has reported no event yet.') :
          h('ol', {class: 'timeline', 'aria-label': `${events.length} most recent events, newest first`},
            events.map(eventItem)));
      moreButton.hidden = events.length < limit || limit >= EVENT_MAX;
    },
  };
}
