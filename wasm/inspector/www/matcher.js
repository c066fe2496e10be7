// Series filter text -> predicate. Invariant: never throws on a series, only on bad filter
// text (the message says what is wrong and where).
//
//   ""                      every series
//   #12                     the series with index 12
//   {job="x", code=~"5.."}  Prometheus label matchers (=, !=, =~, !~; regexes anchored;
//   up{job="x"}             a missing label matches "" like in PromQL)
//   anything else           case-insensitive substring of `name="value"` text

const NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const OP = /^(=~|!~|!=|=)/;

export class FilterError extends Error {}

function readQuoted(s, pos) {
  const quote = s[pos];
  if (quote !== '"' && quote !== "'" && quote !== '`') {
    throw new FilterError(`expected a quoted value at character ${pos}`);
  }
  let out = '';
  let i = pos + 1;
  while (i < s.length) {
    const c = s[i];
    if (c === quote) return [out, i + 1];
    if (c === '\\' && quote !== '`' && i + 1 < s.length) {
      const n = s[i + 1];
      out += n === 'n' ? '\n' : n === 't' ? '\t' : n;
      i += 2;
      continue;
    }
    out += c;
    i += 1;
  }
  throw new FilterError(`unterminated string starting at character ${pos}`);
}

function parseMatchers(body, offset) {
  const matchers = [];
  let i = 0;
  const skip = () => { while (i < body.length && /[\s,]/.test(body[i])) i += 1; };
  skip();
  while (i < body.length) {
    let name;
    if (body[i] === '"') {
      [name, i] = readQuoted(body, i);
    } else {
      const m = NAME.exec(body.slice(i));
      if (!m) throw new FilterError(`expected a label name at character ${offset + i}`);
      name = m[0];
      i += name.length;
    }
    while (i < body.length && /\s/.test(body[i])) i += 1;
    const op = OP.exec(body.slice(i));
    if (!op) throw new FilterError(`expected =, !=, =~ or !~ after ${name} at character ${offset + i}`);
    i += op[0].length;
    while (i < body.length && /\s/.test(body[i])) i += 1;
    let value;
    try {
      [value, i] = readQuoted(body, i);
    } catch (e) {
      throw new FilterError(`${e.message.replace(/character (\d+)/, (_, n) => `character ${offset + Number(n)}`)}`);
    }
    const matcher = { name, op: op[0], value };
    if (matcher.op === '=~' || matcher.op === '!~') {
      try {
        matcher.re = new RegExp(`^(?:${value})$`);
      } catch (e) {
        throw new FilterError(`bad regex for ${name}: ${e.message}`);
      }
    }
    matchers.push(matcher);
    skip();
  }
  return matchers;
}

/** Parses filter text; throws FilterError on a malformed selector. */
export function parseFilter(text) {
  const t = text.trim();
  if (t === '') return { kind: 'all' };
  const idx = /^#(\d+)$/.exec(t);
  if (idx) return { kind: 'index', index: Number(idx[1]) };
  const sel = /^([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([\s\S]*)\}$/.exec(t);
  if (sel) {
    const open = t.indexOf('{') + 1;
    const matchers = parseMatchers(sel[2], open);
    if (sel[1]) matchers.unshift({ name: '__name__', op: '=', value: sel[1] });
    return { kind: 'matchers', matchers };
  }
  if (t.startsWith('{')) throw new FilterError('a selector must end with }');
  return { kind: 'substring', needle: t.toLowerCase() };
}

function labelValue(labels, name) {
  for (const [n, v] of labels) if (n === name) return v;
  return '';
}

function matchOne(m, value) {
  switch (m.op) {
    case '=': return value === m.value;
    case '!=': return value !== m.value;
    case '=~': return m.re.test(value);
    default: return !m.re.test(value);
  }
}

/**
 * Whether series number `index` (labels `[[name, value], ...]`, lowercased label text
 * `text`) passes the parsed filter.
 */
export function seriesMatches(filter, index, labels, text) {
  switch (filter.kind) {
    case 'all': return true;
    case 'index': return index === filter.index;
    case 'matchers': return filter.matchers.every((m) => matchOne(m, labelValue(labels, m.name)));
    default: return text.includes(filter.needle);
  }
}

/** `{name="value", ...}` as Prometheus prints a label set. */
export function labelText(labels) {
  return `{${labels.map(([n, v]) => `${n}=${JSON.stringify(v)}`).join(', ')}}`;
}
