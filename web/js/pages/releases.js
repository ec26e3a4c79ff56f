// Releases: every published release, newest first (GET /api/v1/releases), with the rollouts
// of each (GET /api/v1/rollouts, matched by release_id).

import {badge, h, replaceKeepingFocus, table} from '../dom.js';
import {formatBytes, formatCount, formatPercent, formatTime} from '../format.js';

export function createReleasesPage(ctx) {
  const list = h('div', {id: 'releases-table'});
  const root = h('section', {'aria-labelledby': 'page-title'},
      h('h1', {id: 'page-title', tabindex: '-1'}, 'Releases'),
      h('p', {class: 'muted'}, 'Publish one with ', h('code', null, 'aloft release publish'),
        '; the server accepts it only if its manifest is signed by a registered key of its project.'),
      list);
  let last = '';
  return {
    root,
    title: 'Releases',
    async refresh() {
      const [{releases}, {rollouts}] = await Promise.all([
        ctx.api('/api/v1/releases'), ctx.api('/api/v1/rollouts')]);
      const json = JSON.stringify([releases, rollouts]);
      if (json === last) {
        return;
      }
      last = json;
      const rows = releases.map((release) => {
        const mine = rollouts.filter((rollout) => rollout.release_id === release.id);
        return [
          release.version,
          release.project,
          release.chip,
          h('span', {title: `${formatCount(release.size)} bytes`}, formatBytes(release.size)),
          h('code', {class: 'wrap-anywhere'}, release.signing_key_digest),
          formatTime(release.created_at_ms),
          mine.length === 0 ? h('span', {class: 'muted'}, 'none') : h('ul', {class: 'legend'},
            mine.map((rollout) => h('li', null,
              h('a', {href: `#/rollouts/${rollout.id}`}, `#${rollout.id}`), ' ', badge(rollout.state),
              ` ${formatPercent(rollout.percent)}`))),
          formatCount(release.id),
        ];
      });
      replaceKeepingFocus(list, table({
        caption: `${releases.length} release${releases.length === 1 ? '' : 's'}, newest first`,
        columns: [{label: 'Version'}, {label: 'Project'}, {label: 'Chip'},
                  {label: 'Size', numeric: true}, {label: 'Signing key (SHA-256 digest)', wrap: true},
                  {label: 'Created'}, {label: 'Rollouts'}, {label: 'ID', numeric: true}],
        rows, rowKeys: releases.map((release) => release.id), empty: 'No release published yet.'}));
    },
  };
}
