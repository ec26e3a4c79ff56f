// Overview: fleet size and versions in the field (GET /api/v1/fleet), releases published
// (GET /api/v1/releases) and the rollouts that are not completed (GET /api/v1/rollouts).

import {barChart} from '../charts.js';
import {badge, h, replaceKeepingFocus, table} from '../dom.js';
import {formatCount, formatPercent, formatRate} from '../format.js';

export const LIVE_STATES = ['active', 'paused', 'halted'];

// One row per rollout: the columns the overview and the rollouts page share.
export function rolloutRow(rollout) {
  const release = rollout.release;
  return [
    h('a', {href: `#/rollouts/${rollout.id}`}, `#${rollout.id}`),
    `${release.project} ${release.version} (${release.chip})`,
    badge(rollout.state),
    formatPercent(rollout.percent),
    formatCount(rollout.devices),
    formatCount(rollout.counts.confirmed ?? 0),
    formatCount(rollout.failures),
    `${formatRate(rollout.failure_rate)} / ${formatRate(rollout.halt_failure_rate)}`,
  ];
}

export const ROLLOUT_COLUMNS = [
  {label: 'Rollout'}, {label: 'Release'}, {label: 'State'}, {label: 'Percent', numeric: true},
  {label: 'Devices', numeric: true}, {label: 'Confirmed', numeric: true},
  {label: 'Failures', numeric: true}, {label: 'Failure rate / halt above', numeric: true},
];

export function createOverviewPage(ctx) {
  const fleetSize = h('dd', {id: 'fleet-size'}, '…');
  const versionCount = h('dd', {id: 'version-count'}, '…');
  const liveCount = h('dd', {id: 'live-rollouts'}, '…');
  const releaseCount = h('dd', {id: 'release-count'}, '…');
  const versionsChart = h('div', {id: 'versions-chart'});
  const rollouts = h('div', {id: 'overview-rollouts'});
  const root = h('section', {'aria-labelledby': 'page-title'},
      h('h1', {id: 'page-title', tabindex: '-1'}, 'Fleet overview'),
      h('dl', {class: 'stats'},
        h('div', {class: 'stat'}, h('dt', null, 'Devices registered'), fleetSize),
        h('div', {class: 'stat'}, h('dt', null, 'Versions in the field'), versionCount),
        h('div', {class: 'stat'}, h('dt', null, 'Rollouts not completed'), liveCount),
        h('div', {class: 'stat'}, h('dt', null, 'Releases published'), releaseCount)),
      h('section', {class: 'panel', 'aria-labelledby': 'rollouts-title'},
        h('h2', {id: 'rollouts-title'}, 'Rollouts in progress'), rollouts),
      h('section', {class: 'panel', 'aria-labelledby': 'versions-title'},
        h('h2', {id: 'versions-title'}, 'Versions in the field'), versionsChart));

  let fleet = null;
  let lastRollouts = '';

  function drawVersions() {
    if (!fleet) {
      return;
    }
    barChart(versionsChart, {
      title: 'Devices by running version',
      valueLabel: 'Devices',
      emptyText: 'No device has checked in with a version yet.',
      items: fleet.versions.map((entry) => ({
        label: `${entry.version || '(unknown)'} · ${entry.project} · ${entry.chip}`,
        value: entry.devices,
      })),
    });
  }

  return {
    root,
    title: 'Overview',
    async refresh() {
      const [fleetAnswer, releaseAnswer, rolloutAnswer] = await Promise.all([
        ctx.api('/api/v1/fleet'), ctx.api('/api/v1/releases'), ctx.api('/api/v1/rollouts')]);
      fleet = fleetAnswer;
      fleetSize.textContent = formatCount(fleet.devices);
      versionCount.textContent = formatCount(fleet.versions.length);
      releaseCount.textContent = formatCount(releaseAnswer.releases.length);
      drawVersions();
      const live = rolloutAnswer.rollouts.filter((rollout) => LIVE_STATES.includes(rollout.state));
      liveCount.textContent = formatCount(live.length);
      const json = JSON.stringify(live);
      if (json !== lastRollouts) {
        lastRollouts = json;
        replaceKeepingFocus(rollouts,
            table({caption: 'Active, paused and halted rollouts', columns: ROLLOUT_COLUMNS,
                   rows: live.map(rolloutRow), rowKeys: live.map((rollout) => rollout.id),
                   empty: 'No rollout in progress.'}),
            h('p', null, h('a', {href: '#/rollouts'}, 'All rollouts')));
      }
    },
    redraw: drawVersions,
  };
}
