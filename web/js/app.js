// The dashboard's shell: admin login, hash routing (#/, #/rollouts, #/rollouts/ID, #/releases,
// #/devices, #/devices/ID) and live updates. Every page refreshes from the admin API every
// POLL_MS while the tab is visible, in place: no reload, focus and form input untouched.

import {apiCall, ApiError, forgetToken, storedToken, storeToken} from './api.js';
import {h} from './dom.js';
import {formatClock} from './format.js';
import {forgetSamples} from './history.js';
import {createDevicePage} from './pages/device.js';
import {createDevicesPage} from './pages/devices.js';
import {createOverviewPage} from './pages/overview.js';
import {createReleasesPage} from './pages/releases.js';
import {createRolloutPage} from './pages/rollout.js';
import {createRolloutsPage} from './pages/rollouts.js';

export const POLL_MS = 3000;

const ROUTES = [
  {pattern: /^\/$/, nav: 'overview', create: createOverviewPage},
  {pattern: /^\/rollouts$/, nav: 'rollouts', create: createRolloutsPage},
  {pattern: /^\/rollouts\/([1-9][0-9]{0,17})$/, nav: 'rollouts', create: createRolloutPage},
  {pattern: /^\/releases$/, nav: 'releases', create: createReleasesPage},
  {pattern: /^\/devices$/, nav: 'devices', create: createDevicesPage},
  {pattern: /^\/devices\/([A-Za-z0-9._-]{1,64})$/, nav: 'devices', create: createDevicePage},
];

const main = document.getElementById('content');
const nav = document.getElementById('nav');
const logoutButton = document.getElementById('logout');
const freshness = document.getElementById('freshness');
const problem = document.getElementById('problem');

let current = null;  // the page on screen: {root, title, refresh, redraw?}
let routedHash = null;
let refreshing = null;
let timer = null;

function setProblem(text) {
  if (problem.textContent !== text) {
    problem.textContent = text;
  }
}

const context = {
  api: apiCall,
  // Refreshes the current page now (after an action), and returns when it is done.
  refresh: () => refreshNow(),
  // Changes the route's query without a new page (the page has already applied it).
  replaceQuery(hash) {
    routedHash = hash;
    history.pushState(null, '', hash);
  },
};

function notFoundPage(path) {
  const root = h('section', null, h('h1', {tabindex: '-1'}, 'Page not found'),
      h('p', null, `There is no dashboard page at ${path}. `, h('a', {href: '#/'}, 'Go to the overview'), '.'));
  return {root, title: 'Not found', refresh: async () => {}};
}

function setNavCurrent(name) {
  for (const link of nav.querySelectorAll('a[data-nav]')) {
    if (link.dataset.nav === name) {
      link.setAttribute('aria-current', 'page');
    } else {
      link.removeAttribute('aria-current');
    }
  }
}

function route({focus}) {
  const hash = location.hash || '#/';
  if (!hash.startsWith('#/')) {
    return;  // an in-page link such as the skip link, not a route
  }
  if (!storedToken()) {
    showLogin();
    return;
  }
  if (hash === routedHash && current) {
    return;
  }
  routedHash = hash;
  const [path, search = ''] = hash.slice(1).split('?');
  const params = new URLSearchParams(search);
  nav.hidden = false;
  logoutButton.hidden = false;
  let page = null;
  let navName = null;
  for (const candidate of ROUTES) {
    const match = candidate.pattern.exec(path);
    if (match) {
      page = candidate.create(context, match.slice(1), params);
      navName = candidate.nav;
      break;
    }
  }
  page ??= notFoundPage(path);
  current = page;
  setNavCurrent(navName);
  setProblem('');
  main.replaceChildren(page.root);
  document.title = `${page.title} · aloft`;
  if (focus) {
    // Keyboard and screen-reader users land on the new page's heading.
    (page.root.querySelector('h1') ?? main).focus({preventScroll: false});
  }
  refreshNow();
}

async function refreshNow() {
  if (!current) {
    return;
  }
  if (refreshing) {
    return refreshing;
  }
  const page = current;
  refreshing = (async () => {
    try {
      await page.refresh();
      if (page === current) {
        freshness.textContent =
            `Updated ${formatClock(Date.now())}; refreshes every ${POLL_MS / 1000} s.`;
        setProblem('');
      }
    } catch (error) {
      if (page !== current) {
        return;
      }
      if (error instanceof ApiError && error.status === 401) {
        logout(`The server no longer accepts this token (${error.message}). Log in again.`);
        return;
      }
      setProblem(`Could not refresh: ${error.message}.`);
      if (!(error instanceof ApiError)) {
        console.error(error);
      }
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => {
    if (!document.hidden) {
      await refreshNow();
    }
    schedule();
  }, POLL_MS);
}

// Why a token was refused, in words that say what to do.
function loginMessage(error) {
  if (!(error instanceof ApiError)) {
    return `Unexpected error: ${error.message}`;
  }
  if (error.status === 401) {
    return `The server refused this token: ${error.message}. ` +
        'Use the admin token from the data directory (DATA/admin.token).';
  }
  if (error.status === 403) {
    return 'That token belongs to a device. The dashboard needs the admin token (DATA/admin.token).';
  }
  if (error.status === 0) {
    return 'The server cannot be reached. Check that aloftd is running, then try again.';
  }
  return `The server answered ${error.status} (${error.code}): ${error.message}.`;
}

function showLogin(message = '', kind = 'error') {
  current = null;
  routedHash = null;
  nav.hidden = true;
  logoutButton.hidden = true;
  freshness.textContent = 'Not connected.';
  setProblem('');
  document.title = 'Log in · aloft';
  const input = h('input', {id: 'token', name: 'token', type: 'password', autocomplete: 'off',
                            spellcheck: 'false', required: true,
                            'aria-describedby': 'token-hint login-message'});
  const status = h('div', {id: 'login-message', class: `message ${kind}`, role: 'alert'}, message);
  const submit = h('button', {type: 'submit'}, 'Log in');
  // method=post: should the script ever not run, a browser submitting the form would still not
  // put the token in a URL.
  const form = h('form', {class: 'login panel', method: 'post', action: '#',
                          'aria-labelledby': 'login-title'},
      h('h1', {id: 'login-title', tabindex: '-1'}, 'Log in to the fleet dashboard'),
      h('p', null, 'Enter the admin token of this server: the file ', h('code', null, 'admin.token'),
        ' in its data directory, written by ', h('code', null, 'aloft server init'), '.'),
      h('div', {class: 'field'},
        h('label', {for: 'token'}, 'Admin token'), input,
        h('p', {id: 'token-hint', class: 'hint'},
          'Kept in this browser tab only (session storage) and sent as a bearer header; never put in a URL.')),
      status,
      h('div', {class: 'actions'}, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      status.className = 'message error';
      status.textContent = 'Enter the admin token.';
      input.focus();
      return;
    }
    submit.disabled = true;
    status.className = 'message info';
    status.textContent = '';
    try {
      await apiCall('/api/v1/fleet', {token});
      storeToken(token);
      input.value = '';
      route({focus: true});
    } catch (error) {
      status.className = 'message error';
      status.textContent = loginMessage(error);
      input.focus();
      input.select();
    } finally {
      submit.disabled = false;
    }
  });
  main.replaceChildren(form);
}

function logout(message, kind = 'error') {
  forgetToken();
  forgetSamples();
  if (location.hash && location.hash !== '#/') {
    history.replaceState(null, '', '#/');
  }
  showLogin(message, kind);
  document.getElementById('token')?.focus();
}

logoutButton.addEventListener('click', () => logout('You have logged out.', 'info'));
window.addEventListener('hashchange', () => route({focus: true}));
window.addEventListener('popstate', () => route({focus: true}));
document.addEventListener('visibilitychange', () => {
  if (!document.hidden) {
    refreshNow();
  }
});
let resizeFrame = 0;
window.addEventListener('resize', () => {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => current?.redraw?.());
});

route({focus: false});
schedule();
