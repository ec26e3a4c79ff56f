// How numbers and times read on the page. Times are shown in the browser's local time zone;
// every time from the API is milliseconds since the Unix epoch.

const pad = (n) => String(n).padStart(2, '0');

// "2026-11-24 18:44:50" (local time), or "never".
export function formatTime(ms) {
  if (ms === null || ms === undefined) {
    return 'never';
  }
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
      `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// "18:44:50" (local time).
export function formatClock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

// "just now", "42 s ago", "5 min ago", "3 h ago", "2 d ago".
export function formatAgo(ms, nowMs = Date.now()) {
  if (ms === null || ms === undefined) {
    return 'never';
  }
  const seconds = Math.round((nowMs - ms) / 1000);
  if (seconds < 5) {
    return 'just now';
  }
  if (seconds < 90) {
    return `${seconds} s ago`;
  }
  if (seconds < 90 * 60) {
    return `${Math.round(seconds / 60)} min ago`;
  }
  if (seconds < 36 * 3600) {
    return `${Math.round(seconds / 3600)} h ago`;
  }
  return `${Math.round(seconds / 86400)} d ago`;
}

// "81,920" with the browser's grouping.
export function formatCount(n) {
  return Number(n).toLocaleString('en-US');
}

// "80.0 KiB", "1.5 MiB" (powers of 1024, as flash sizes are).
export function formatBytes(n) {
  if (n < 1024) {
    return `${n} B`;
  }
  const units = ['KiB', 'MiB', 'GiB'];
  let value = n / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

// A fraction as a percentage: 0.1667 → "16.7%".
export function formatRate(fraction) {
  return `${(fraction * 100).toFixed(1)}%`;
}

// The API's percent (0..100, up to two decimals) → "12.5%".
export function formatPercent(percent) {
  return `${Number(percent)}%`;
}

// A long hex digest shortened for a table cell: "865a558e…a750c402".
export function shortHex(hex) {
  return hex.length > 20 ? `${hex.slice(0, 8)}…${hex.slice(-8)}` : hex;
}
