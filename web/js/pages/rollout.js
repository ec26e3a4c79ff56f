// One rollout (GET /api/v1/rollouts/ID): its state and halt reason, the controls (POST
// .../pause, .../resume, .../percent), its devices by state now and over time, and its failure
// rate against the threshold at which it halts itself.

import {progressChart, rateMeter} from '../charts.js';
import {badge, facts, h, replaceKeepingFocus, table} from '../dom.js';
import {formatClock, formatCount, formatPercent, formatRate, formatTime} from '../format.js';
import {recordSample} from '../history.js';

// Every device state of a rollout, in the order an update goes through them (docs/protocol.md).
export const ROLLOUT_STATES = ['offered', 'downloading', 'downloaded', 'verified', 'rebooting',
                               'confirmed', 'failed', 'rolled_back'];

export function createRolloutPage(ctx, [id]) {
  const heading = h('h1', {id: 'page-title', tabindex: '-1'}, `Rollout #${id}`);
  const stateLine = h('p', {id: 'rollout-state'});
  const banner = h('div', {id: 'rollout-banner'});
  const stats = h('dl', {class: 'stats', id: 'rollout-stats'});
  const chart = h('div', {id: 'progress-chart'});
  const historyNote = h('p', {class: 'muted'});
  const countsTable = h('div', {id: 'rollout-counts'});
  const meter = h('div', {id: 'failure-meter'});
  const rateText = h('p', {id: 'failure-text'});
  const settings = h('div', {id: 'rollout-settings'});
  const percentHistory = h('div', {id: 'percent-history'});

  // Controls.
  const message = h('p', {id: 'control-message', class: 'message', role: 'status'});
  const reason = h('input', {id: 'change-reason', type: 'text', maxlength: '1024',
                             autocomplete: 'off', 'aria-describedby': 'reason-hint'});
  const pauseButton = h('button', {type: 'button', id: 'pause', class: 'danger', hidden: true},
                        'Pause rollout');
  const resumeButton = h('button', {type: 'button', id: 'resume', hidden: true}, 'Resume rollout');
  const percentInput = h('input', {id: 'new-percent', type: 'number', min: '0', max: '100',
                                   step: '0.01', inputmode: 'decimal', required: true,
                                   'aria-describedby': 'percent-hint'});
  const percentButton = h('button', {type: 'submit', id: 'set-percent'}, 'Set percentage');
  // novalidate: the page checks the value itself and says what is wrong in words.
  const percentForm = h('form', {class: 'form-row', id: 'percent-form', novalidate: true},
      h('div', {class: 'field'}, h('label', {for: 'new-percent'}, 'Percentage of devices'),
        percentInput,
        h('p', {id: 'percent-hint', class: 'hint'},
          '0 to 100. Raising it keeps every device already in; lowering it stops new offers.')),
      h('div', {class: 'actions'}, percentButton));
  const controls = h('section', {class: 'panel', 'aria-labelledby': 'controls-title'},
      h('h2', {id: 'controls-title'}, 'Controls'),
      h('div', {class: 'form-row'},
        h('div', {class: 'field'}, h('label', {for: 'change-reason'}, 'Reason (optional)'), reason,
          h('p', {id: 'reason-hint', class: 'hint'}, 'Recorded with a pause or resume.')),
        h('div', {class: 'actions'}, pauseButton, resumeButton)),
      percentForm,
      message);

  const root = h('section', {'aria-labelledby': 'page-title'},
      h('p', null, h('a', {href: '#/rollouts'}, '← All rollouts')),
      heading, stateLine, banner, stats,
      h('div', {class: 'grid'},
        controls,
        h('section', {class: 'panel', 'aria-labelledby': 'counts-title'},
          h('h2', {id: 'counts-title'}, 'Devices by state'), countsTable)),
      h('section', {class: 'panel', 'aria-labelledby': 'progress-title'},
        h('h2', {id: 'progress-title'}, 'Progress over time'), chart, historyNote),
      h('div', {class: 'grid'},
        h('section', {class: 'panel', 'aria-labelledby': 'failure-title'},
          h('h2', {id: 'failure-title'}, 'Failure rate and halt threshold'), meter, rateText),
        h('section', {class: 'panel', 'aria-labelledby': 'settings-title'},
          h('h2', {id: 'settings-title'}, 'Settings'), settings, percentHistory)));

  let rollout = null;
  let samples = [];
  let percentDirty = false;
  let lastJson = '';

  percentInput.addEventListener('input', () => { percentDirty = true; });

  function say(text, kind) {
    message.className = `message ${kind}`;
    message.textContent = text;
  }

  // Runs one change, then refreshes; focus moves to `focusAfter` if the clicked control vanished.
  async function change(path, body, done, focusAfter) {
    const buttons = [pauseButton, resumeButton, percentButton];
    buttons.forEach((button) => { button.disabled = true; });
    say('Working…', 'info');
    try {
      const answer = await ctx.api(`/api/v1/rollouts/${id}/${path}`, {method: 'POST', body});
      say(done(answer), 'info');
      await ctx.refresh();
      if (focusAfter && !focusAfter.hidden) {
        focusAfter.focus();
      }
    } catch (error) {
      say(`Not done: ${error.message}${error.code ? ` (${error.code})` : ''}.`, 'error');
    } finally {
      buttons.forEach((button) => { button.disabled = rollout?.state === 'completed'; });
    }
  }

  const reasonBody = () => (reason.value.trim() ? {reason: reason.value.trim()} : {});
  pauseButton.addEventListener('click', () => change('pause', reasonBody(),
      () => `Rollout #${id} paused: no device is offered the release until it resumes.`, resumeButton));
  resumeButton.addEventListener('click', () => change('resume', reasonBody(),
      () => `Rollout #${id} resumed.`, pauseButton));
  percentForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = Number(percentInput.value);
    if (percentInput.value.trim() === '' || !Number.isFinite(value) || value < 0 || value > 100 ||
        Math.round(value * 100) !== value * 100) {
      say('The percentage must be a number from 0 to 100 with at most two decimals.', 'error');
      percentInput.focus();
      return;
    }
    change('percent', {percent: value}, (answer) => {
      percentDirty = false;
      return `Rollout #${id} now offered to ${formatPercent(answer.percent)} of eligible devices.`;
    }, null);
  });

  function drawChart() {
    if (!rollout) {
      return;
    }
    progressChart(chart, {title: 'Devices by state', samples, nowMs: Date.now()});
  }

  function drawMeter() {
    if (!rollout) {
      return;
    }
    rateMeter(meter, {rate: rollout.failure_rate, threshold: rollout.halt_failure_rate,
                      judged: rollout.finished >= rollout.min_sample});
  }

  function render() {
    const r = rollout;
    const release = r.release;
    heading.textContent = `Rollout #${r.id}: ${release.project} ${release.version} for ${release.chip}`;
    document.title = `Rollout #${r.id} · aloft`;
    stateLine.replaceChildren(badge(r.state), ` ${formatPercent(r.percent)} of eligible devices` +
        (r.tags.length ? `, tags ${r.tags.join(', ')}` : '') +
        (r.min_version ? `, running ${r.min_version} or later` : ''));
    if (r.state === 'halted') {
      const why = r.reason.replace(/^halted:\s*/, '');
      banner.replaceChildren(h('div', {class: 'alert', id: 'halt-reason'},
          `Halted itself: ${why}. Resume it once the cause is understood; it halts again ` +
          'if the failure rate stays above the threshold.'));
    } else if (r.state === 'paused') {
      banner.replaceChildren(h('div', {class: 'notice', id: 'pause-reason'},
          `Paused: ${r.reason || 'no reason given'}.`));
    } else if (r.state === 'completed') {
      banner.replaceChildren(h('div', {class: 'notice'}, 'Completed: this rollout is final.'));
    } else {
      banner.replaceChildren();
    }
    const counts = r.counts;
    const inProgress = ['downloading', 'downloaded', 'verified', 'rebooting']
        .reduce((sum, state) => sum + (counts[state] ?? 0), 0);
    stats.replaceChildren(...[
      ['Devices in rollout', formatCount(r.devices), 'devices'],
      ['Confirmed', formatCount(counts.confirmed ?? 0), 'confirmed'],
      ['In progress', formatCount(inProgress), 'in-progress'],
      ['Failed or rolled back', formatCount(r.failures), 'failures'],
      ['Failure rate', formatRate(r.failure_rate), 'failure-rate'],
    ].map(([label, value, key]) =>
      h('div', {class: 'stat'}, h('dt', null, label), h('dd', {'data-stat': key}, value))));

    const states = ROLLOUT_STATES.concat(Object.keys(counts).filter((s) => !ROLLOUT_STATES.includes(s)));
    replaceKeepingFocus(countsTable, table({
      caption: `Latest state of each of the ${formatCount(r.devices)} devices`,
      columns: [{label: 'State'}, {label: 'Devices', numeric: true}],
      rows: states.map((state) => [badge(state), formatCount(counts[state] ?? 0)]).concat(
          [[h('strong', null, 'Total'), h('strong', null, formatCount(r.devices))]]),
      rowKeys: states.concat(['total']),
    }));

    const judged = r.finished >= r.min_sample;
    rateText.textContent = `${formatCount(r.failures)} of ${formatCount(r.finished)} finished ` +
        `devices failed or rolled back (${formatRate(r.failure_rate)}). The rollout halts itself ` +
        `when the rate is above ${formatRate(r.halt_failure_rate)} once at least ` +
        `${formatCount(r.min_sample)} devices have finished` +
        (judged ? '.' : `; ${formatCount(r.min_sample - r.finished)} more to go before it is judged.`);

    settings.replaceChildren(facts([
      ['Release', `${release.project} ${release.version} for ${release.chip} (release ${release.id})`],
      ['Percentage', formatPercent(r.percent)],
      ['Tags', r.tags.length ? r.tags.join(', ') : 'any device'],
      ['Minimum running version', r.min_version ?? 'none'],
      ['Halts above', `${formatRate(r.halt_failure_rate)} failures after ${formatCount(r.min_sample)} finished`],
      ['Started', formatTime(r.created_at_ms)],
      ['Last change', `${formatTime(r.updated_at_ms)}${r.reason ? `: ${r.reason}` : ''}`],
    ]));
    percentHistory.replaceChildren(h('h3', null, 'Percentage history'),
        h('ol', {class: 'percent-history'}, r.percent_history.map((change) =>
          h('li', null, `${formatPercent(change.percent)} at ${formatTime(change.at_ms)}`))));

    pauseButton.hidden = r.state !== 'active';
    resumeButton.hidden = !(r.state === 'paused' || r.state === 'halted');
    const final = r.state === 'completed';
    [pauseButton, resumeButton, percentButton, percentInput, reason].forEach((control) => {
      control.disabled = final;
    });
    if (!percentDirty && document.activeElement !== percentInput) {
      percentInput.value = String(r.percent);
    }
  }

  return {
    root,
    title: `Rollout #${id}`,
    async refresh() {
      const answer = await ctx.api(`/api/v1/rollouts/${id}`);
      const now = Date.now();
      samples = recordSample(id, now, answer.counts);
      historyNote.textContent = `Recorded by this browser tab from the rollout's counts since ` +
          `${formatClock(samples[0].t)} (${samples.length} change${samples.length === 1 ? '' : 's'} ` +
          `seen); the table under the chart has the exact numbers.`;
      rollout = answer;
      const json = JSON.stringify(answer);
      if (json !== lastJson) {
        lastJson = json;
        render();
      }
      drawChart();
      drawMeter();
    },
    redraw() {
      drawChart();
      drawMeter();
    },
  };
}

