/**
 * The vector selectors of a PromQL expression (metric name + label matchers), for checking a
 * dashboard's and alert rules' expressions against the metrics a real application exports.
 * promtool checks that the expressions parse; this only has to find the names in them.
 *
 * Conservative by design: an identifier that is not a function call, a keyword or a label in a
 * grouping list counts as a metric name, so a misreading names too much (and the check fails),
 * never too little. A selector without a metric name (`{__name__="..."}`) is rejected outright.
 */

export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export interface Selector {
  readonly metric: string;
  readonly matchers: readonly Matcher[];
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'atan2', 'inf', 'nan', 'start', 'end']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const IDENT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const NUMBER = /[0-9.][0-9a-zA-Z_.]*/y;
const MATCHER = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')\s*(,?)/y;

export function selectorsOf(expr: string): Selector[] {
  const selectors: Selector[] = [];
  let i = 0;
  const skipSpaces = () => {
    while (i < expr.length && /\s/.test(expr[i]!)) i++;
  };
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      i = endOfString(expr, i);
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
    } else if (c === '[') {
      i = expr.indexOf(']', i) + 1;
      if (i === 0) throw new Error(`unclosed [ in ${expr}`);
    } else if (c === '{') {
      throw new Error(`a selector without a metric name in ${expr}: name the metric before {...}`);
    } else if (/[0-9.]/.test(c)) {
      NUMBER.lastIndex = i;
      NUMBER.exec(expr);
      i = NUMBER.lastIndex;
    } else if (/[a-zA-Z_:]/.test(c)) {
      IDENT.lastIndex = i;
      const word = IDENT.exec(expr)![0];
      i = IDENT.lastIndex;
      skipSpaces();
      if (GROUPING.has(word)) {
        if (expr[i] === '(') i = expr.indexOf(')', i) + 1;
      } else if (KEYWORDS.has(word) || expr[i] === '(' || /^(?:by|without)\s*\(/.test(expr.slice(i))) {
        // an operator, or a function / aggregation call (`sum by (name) (...)` too): its arguments are scanned next
      } else {
        const matchers: Matcher[] = [];
        if (expr[i] === '{') i = readMatchers(expr, i + 1, matchers);
        selectors.push({ metric: word, matchers });
      }
    } else {
      i++;
    }
  }
  return selectors;
}

function endOfString(expr: string, start: number): number {
  const quote = expr[start]!;
  for (let i = start + 1; i < expr.length; i++) {
    if (expr[i] === '\\' && quote !== '`') i++;
    else if (expr[i] === quote) return i + 1;
  }
  throw new Error(`unclosed string in ${expr}`);
}

function readMatchers(expr: string, start: number, out: Matcher[]): number {
  let i = start;
  for (;;) {
    while (/\s/.test(expr[i] ?? '')) i++;
    if (expr[i] === '}') return i + 1;
    MATCHER.lastIndex = i;
    const m = MATCHER.exec(expr);
    if (m === null) throw new Error(`unreadable label matcher at "${expr.slice(i, i + 30)}" in ${expr}`);
    const [, label, op, quoted] = m;
    if (label === '__name__') throw new Error(`a __name__ matcher in ${expr}: name the metric before {...}`);
    out.push({ label: label!, op: op as Matcher['op'], value: JSON.parse(quoted![0] === '"' ? quoted! : `"${quoted!.slice(1, -1).replace(/"/g, '\\"')}"`) as string });
    i = MATCHER.lastIndex;
  }
}
