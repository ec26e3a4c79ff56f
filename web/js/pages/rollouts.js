// Rollouts: every rollout, newest first (GET /api/v1/rollouts), with its state, percentage,
// device counts and failure rate against its halt threshold.

import {h, replaceKeepingFocus, table} from '../dom.js';
import {ROLLOUT_COLUMNS, rolloutRow} from './overview.js';

export function createRolloutsPage(ctx) {
  const list = h('div', {id: 'rollouts-table'});
  const root = h('section', {'aria-labelledby': 'page-title'},
      h('h1', {id: 'page-title', tabindex: '-1'}, 'Rollouts'),
      h('p', {class: 'muted'}, 'Start a rollout with ', h('code', null, 'aloft rollout start'),
        '; open one to pause, resume or change its percentage.'),
      list);
  let last = '';
  return {
    root,
    title: 'Rollouts',
    async refresh() {
      const {rollouts} = await ctx.api('/api/v1/rollouts');
      const json = JSON.stringify(rollouts);
      if (json === last) {
        return;
      }
      last = json;
      replaceKeepingFocus(list, table({
        caption: `${rollouts.length} rollout${rollouts.length === 1 ? '' : 's'}, newest first`,
        columns: ROLLOUT_COLUMNS, rows: rollouts.map(rolloutRow),
        rowKeys: rollouts.map((rollout) => rollout.id), empty: 'No rollout yet.'}));
    },
  };
}
