// A real aloftd for the browser tests: a data dir made by `aloft server init`, the server
// started on an ephemeral port over TLS, and a fleet seeded through the same admin API and CLI
// an operator uses (release keys, signed releases, rollouts, devices that check in and report
// events, failures included).

import {spawn, execFile} from 'node:child_process';
import {randomBytes} from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import {promisify} from 'node:util';

const run = promisify(execFile);

// One HTTPS request to aloftd, trusting only its CA. Resolves to {status, headers, body, json}.
// The path is sent exactly as written ("/a/%2e%2e/b" stays so), not normalized as a URL would be.
export function request(url, {method = 'GET', token, body, ca, headers = {}} = {}) {
  const [, host, port, target] = /^https:\/\/([^/:]+):(\d+)(\/.*)$/.exec(url);
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined :
        (typeof body === 'string' ? body : JSON.stringify(body));
    const allHeaders = {...headers};
    if (token) {
      allHeaders.Authorization = `Bearer ${token}`;
    }
    if (payload !== undefined) {
      allHeaders['Content-Type'] = 'application/json';
      allHeaders['Content-Length'] = Buffer.byteLength(payload);
    }
    const req = https.request({host, port, path: target, method, ca, headers: allHeaders,
                               agent: false}, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          json = null;
        }
        resolve({status: res.statusCode, headers: res.headers, body: text, json});
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

// Starts `aloftd --data DIR --listen 127.0.0.1:0 --web WEB` and resolves once it prints its port.
export async function startAloftd({aloftd, dataDir, webRoot, logPath}) {
  const log = fs.openSync(logPath, 'a');
  const child = spawn(aloftd, ['--data', dataDir, '--listen', '127.0.0.1:0', '--web', webRoot],
                      {stdio: ['ignore', 'pipe', log]});
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`aloftd did not start; see ${logPath}`)), 30_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /listening on port (\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`aloftd exited with ${code}; see ${logPath}`));
    });
  });
  child.stdout.resume();
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode !== null) {
        return child.exitCode;
      }
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      return exited;
    },
  };
}

// The admin API client the tests check the page against.
export class Admin {
  constructor(url, ca, token) {
    this.url = url;
    this.ca = ca;
    this.token = token;
  }

  async call(method, apiPath, body, token = this.token) {
    const answer = await request(this.url + apiPath, {method, token, body, ca: this.ca});
    if (answer.status >= 300) {
      throw new Error(`${method} ${apiPath}: ${answer.status} ${answer.body}`);
    }
    return answer.json;
  }

  get(apiPath) {
    return this.call('GET', apiPath);
  }

  post(apiPath, body) {
    return this.call('POST', apiPath, body);
  }
}

function nonce() {
  return randomBytes(16).toString('hex');
}

// A registered device that checks in and reports, as the agent would (docs/protocol.md).
class Device {
  constructor(admin, spec, token) {
    this.admin = admin;
    this.spec = spec;
    this.token = token;
    this.version = spec.version;
    this.eventCount = 0;
  }

  async checkin() {
    const answer = await this.admin.call('POST', '/api/v1/check', {
      device_id: this.spec.id, project: this.spec.project, chip: this.spec.chip,
      version: this.version, secure_version: 0, tags: this.spec.tags, nonce: nonce(),
    }, this.token);
    return answer.update;
  }

  // Reports states in order for the offer `update` ({release_id, rollout_id}).
  async report(update, states, {reason, newVersion} = {}) {
    const events = states.map((state) => {
      this.eventCount += 1;
      const event = {id: `${this.spec.id}-ev${this.eventCount}`, state,
                     version: state === 'confirmed' ? newVersion : this.version,
                     release_id: update.release_id, rollout_id: update.rollout_id,
                     time_ms: 1000 * this.eventCount};
      if (state === 'downloading') {
        event.progress = 0;
        event.bytes = 0;
      }
      if ((state === 'failed' || state === 'rolled_back') && reason) {
        event.reason = reason;
      }
      return event;
    });
    await this.admin.call('POST', '/api/v1/events', {device_id: this.spec.id, events}, this.token);
    if (states.at(-1) === 'confirmed') {
      this.version = newVersion;
    }
  }
}

async function registerDevice(admin, spec) {
  const answer = await admin.post('/api/v1/devices', spec);
  return new Device(admin, spec, answer.token);
}

// Publishes an app image as a release: signs it with the release key, makes RELEASE.json and
// publishes both with the CLI.
async function publish(aloft, server, work, key, image, name) {
  const signed = path.join(work, `${name}.signed.bin`);
  const release = path.join(work, `${name}.RELEASE.json`);
  await run(aloft, ['sign', '--key', key, image, '-o', signed]);
  await run(aloft, ['release', 'make', signed, '--key', key, '-o', release]);
  await run(aloft, ['release', 'publish', signed, release, ...server]);
}

// Seeds the fleet the tests look at. Returns what they need to know about it:
//   {rolloutId, haltedRolloutId, waiting, deviceToken, deviceIds}
// Rollout 1 (aloft_vec_esp32 1.0.0, esp32): 20% then 60% of 12 devices; the offered ones are
// in every state, failures included, but below its 50% threshold: active.
// Rollout 2 (aloft_vec_c3 2.3.4-rc1, esp32c3): two of four devices fail, above 25% after a
// sample of 2: it halts itself.
export async function seedFleet({aloft, admin, dataDir, work, sourceDir}) {
  const server = ['--server', admin.url, '--ca', path.join(dataDir, 'ca.pem'), '--token', admin.token];
  const key = path.join(work, 'release.pem');
  await run(aloft, ['key', 'gen', '--type', 'ecdsa-p256', '-o', key]);
  for (const project of ['aloft_vec_esp32', 'aloft_vec_c3', 'hello_world']) {
    await run(aloft, ['key', 'register', '--project', project, key, ...server]);
  }
  const vectors = path.join(sourceDir, 'tests', 'vectors');
  await publish(aloft, server, work, key, path.join(vectors, 'app-image/images/esp32_app.bin'), 'esp32');
  await publish(aloft, server, work, key, path.join(vectors, 'app-image/images/esp32c3_app.bin'), 'c3');
  await publish(aloft, server, work, key,
                path.join(vectors, 'real-firmware/erisdar_esp32_hello_world.bin'), 'hello');

  const esp32 = [];
  for (let i = 1; i <= 12; ++i) {
    const id = `esp32-${String(i).padStart(3, '0')}`;
    esp32.push(await registerDevice(admin, {id, project: 'aloft_vec_esp32', chip: 'esp32',
                                            tags: i % 3 === 0 ? ['field'] : ['lab'], version: '0.9.0'}));
  }
  const c3 = [];
  for (let i = 1; i <= 4; ++i) {
    c3.push(await registerDevice(admin, {id: `c3-${String(i).padStart(3, '0')}`, project: 'aloft_vec_c3',
                                         chip: 'esp32c3', tags: ['field'], version: '2.3.3'}));
  }
  const hello = [];
  for (let i = 1; i <= 3; ++i) {
    hello.push(await registerDevice(admin, {id: `hello-${i}`, project: 'hello_world', chip: 'esp32',
                                            tags: [], version: '6970792-dirty'}));
  }
  await registerDevice(admin, {id: 'quiet-1', project: 'hello_world', chip: 'esp32', tags: []});

  // Rollout 1: started at 20%, raised to 60%.
  const started = await admin.post('/api/v1/rollouts', {release: '1.0.0', project: 'aloft_vec_esp32',
      chip: 'esp32', percent: 20, halt_failure_rate: 0.5, min_sample: 4});
  const rolloutId = started.id;
  await admin.post(`/api/v1/rollouts/${rolloutId}/percent`, {percent: 60});
  const offered = [];
  for (const device of esp32) {
    const update = await device.checkin();
    if (update) {
      offered.push([device, update]);
    }
  }
  // Give the offered devices every kind of outcome, in order; the rest stay "offered".
  const plans = [
    [['downloading', 'downloaded', 'verified', 'rebooting', 'confirmed']],
    [['downloading', 'downloaded', 'verified', 'rebooting', 'confirmed']],
    [['downloading', 'failed'], {reason: 'download: connection reset after 3 retries'}],
    [['downloading', 'downloaded', 'verified', 'rebooting', 'rolled_back'],
     {reason: 'self-test failed: sensor bus timeout'}],
    [['downloading']],
    [['downloading', 'downloaded', 'verified', 'rebooting', 'confirmed']],
  ];
  for (let i = 0; i < offered.length && i < plans.length; ++i) {
    const [device, update] = offered[i];
    const [states, options = {}] = plans[i];
    await device.report(update, states, {...options, newVersion: '1.0.0'});
    await device.checkin();
  }
  for (const device of esp32.slice(-2)) {
    await device.checkin();  // not offered or offered twice: both are fine
  }

  // Rollout 2 halts itself.
  const second = await admin.post('/api/v1/rollouts', {release: '2.3.4-rc1', project: 'aloft_vec_c3',
      chip: 'esp32c3', percent: 100, halt_failure_rate: 0.25, min_sample: 2});
  for (const [i, device] of c3.entries()) {
    const update = await device.checkin();
    if (!update) {
      continue;
    }
    if (i === 0) {
      await device.report(update, ['downloading', 'downloaded', 'verified', 'rebooting', 'confirmed'],
                          {newVersion: '2.3.4-rc1'});
    } else if (i <= 2) {
      await device.report(update, ['downloading', 'downloaded', 'verified', 'rebooting', 'rolled_back'],
                          {reason: 'self-test failed: Wi-Fi does not associate'});
    }
  }
  for (const device of hello) {
    await device.checkin();
  }
  const kiosk = await registerDevice(admin, {id: 'kiosk-1', project: 'hello_world', chip: 'esp32',
                                             tags: ['lobby']});
  return {
    rolloutId,
    haltedRolloutId: second.id,
    // Offered the release but silent so far: [Device, update] pairs a test can make report.
    waiting: offered.slice(plans.length),
    deviceToken: kiosk.token,
    deviceIds: esp32.concat(c3, hello, [kiosk]).map((device) => device.spec.id).concat(['quiet-1']),
  };
}

// For development: seeds a running server. node fleet.mjs URL DATA_DIR ALOFT SOURCE_DIR
if (import.meta.url === `file://${process.argv[1]}`) {
  const [url, dataDir, aloft, sourceDir] = process.argv.slice(2);
  const ca = fs.readFileSync(path.join(dataDir, 'ca.pem'));
  const token = fs.readFileSync(path.join(dataDir, 'admin.token'), 'utf8').trim();
  const work = fs.mkdtempSync('/tmp/aloft-seed-');
  const seeded = await seedFleet({aloft, admin: new Admin(url, ca, token), dataDir, work, sourceDir});
  console.log(`rollouts ${seeded.rolloutId} and ${seeded.haltedRolloutId}; ${seeded.deviceIds.length} devices`);
}
