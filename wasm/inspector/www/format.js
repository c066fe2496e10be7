// Formatting of report values for display. Report values are numbers, or strings for
// non-finite floats ("NaN", "+Inf", "-Inf", "StaleNaN").

export function utc(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return 'invalid time';
  return `${d.toISOString().replace('T', ' ').replace('Z', '')} UTC`;
}

export function isStale(v) {
  return v === 'StaleNaN';
}

export function value(v) {
  return typeof v === 'number' ? String(v) : v;
}

export function bytes(n) {
  if (n === null || n === undefined) return '–';
  const s = n.toLocaleString('en-US');
  if (n < 1024) return `${s} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let x = n / 1024;
  let u = 0;
  while (x >= 1024 && u < units.length - 1) { x /= 1024; u += 1; }
  return `${s} B (${x.toFixed(1)} ${units[u]})`;
}

export function count(n) {
  return (n ?? 0).toLocaleString('en-US');
}

const RETRY_TEXT = {
  yes: 'a sender retries it with backoff',
  no: 'a sender does not retry it',
  if_429_enabled: 'a sender retries it only if retry_on_http_429 is enabled',
};

export function verdictText(verdict) {
  const { status, retry } = verdict;
  const what = status >= 200 && status < 300 ? 'accepted' : status === 413 ? 'too large'
    : status === 415 ? 'unsupported media type' : status === 400 ? 'rejected as invalid' : 'answered';
  const sender = status >= 200 && status < 300 ? 'nothing to retry' : RETRY_TEXT[retry] ?? retry;
  return `${what}: a compliant receiver answers ${status}; ${sender}`;
}

/**
 * Native histogram buckets as [lower, upper, count] rows. Exponential schemas: bucket i has
 * upper bound 2^(i * 2^-schema); custom-bucket schema (-53): bounds from custom_values.
 */
export function buckets(h, negative) {
  const spans = negative ? h.negative_spans : h.positive_spans;
  const counts = negative ? h.negative_buckets : h.positive_buckets;
  const rows = [];
  let idx = 0;
  let k = 0;
  spans.forEach((span) => {
    idx += span.offset;
    for (let j = 0; j < span.length && k < counts.length; j += 1, k += 1) {
      let lo; let hi;
      if (h.schema === -53) {
        const cv = h.custom_values;
        lo = idx === 0 ? -Infinity : cv[idx - 1];
        hi = idx < cv.length ? cv[idx] : Infinity;
      } else {
        const f = 2 ** -h.schema;
        hi = 2 ** (idx * f);
        lo = 2 ** ((idx - 1) * f);
        if (negative) { [lo, hi] = [-hi, -lo]; }
      }
      rows.push([lo, hi, counts[k]]);
      idx += 1;
    }
  });
  return rows;
}

export function bound(x) {
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  return Number(x.toPrecision(6)).toString();
}
