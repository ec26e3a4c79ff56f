// The rollout progress chart's history. The API gives a rollout's counts by state now (and its
// percentage history), not its counts in the past, so the dashboard keeps what it has seen:
// every refresh of a rollout adds a sample when the counts changed, in sessionStorage, so the
// chart survives navigating and reloading within this tab (docs/dashboard.md).

const PREFIX = 'aloft.samples.v1.';
const MAX_SAMPLES = 720;

function load(rolloutId) {
  try {
    const samples = JSON.parse(sessionStorage.getItem(PREFIX + rolloutId) ?? '[]');
    return Array.isArray(samples) ? samples : [];
  } catch {
    return [];
  }
}

function sameCounts(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((key) => (a[key] ?? 0) === (b[key] ?? 0));
}

// Records the counts seen at time t and returns every sample, oldest first.
export function recordSample(rolloutId, t, counts) {
  let samples = load(rolloutId);
  const last = samples.at(-1);
  if (!last || !sameCounts(last.counts, counts)) {
    samples.push({t, counts});
  }
  if (samples.length > MAX_SAMPLES) {
    // Thin the older half rather than forget the start.
    const half = Math.floor(samples.length / 2);
    samples = samples.slice(0, half).filter((_, i) => i % 2 === 0).concat(samples.slice(half));
  }
  try {
    sessionStorage.setItem(PREFIX + rolloutId, JSON.stringify(samples));
  } catch {
    // Storage full: the chart still draws from what was loaded.
  }
  return samples;
}

// Forgets every rollout's samples (on logout).
export function forgetSamples() {
  for (const key of Object.keys(sessionStorage)) {
    if (key.startsWith(PREFIX)) {
      sessionStorage.removeItem(key);
    }
  }
}
