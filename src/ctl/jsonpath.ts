// kubectl's JSONPath templates for `-o jsonpath=…` and the paths of `-o custom-columns=…`.
//
// A template is text with `{…}` actions: a path (`.metadata.name`, `.items[*].spec.cidr`,
// `.items[0]`, `['key.with.dots']`, `..name` for every `name` at any depth, `[?(@.kind=="Tier")]`
// with == or != against a string or number), a quoted literal (`{"\n"}`), or `{range PATH}…{end}`
// which repeats its body for each result. Several results of one path print separated by a space,
// objects and arrays as JSON — as kubectl prints them. Pure; errors are JsonPathError.

export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
  readonly code = 'Usage';
}

type Step =
  | { readonly kind: 'field'; readonly name: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'all' }
  | { readonly kind: 'descend'; readonly name: string }
  | { readonly kind: 'filter'; readonly path: Step[]; readonly op: '==' | '!='; readonly value: string | number };

type Node =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'path'; readonly steps: Step[] }
  | { readonly kind: 'range'; readonly steps: Step[]; readonly body: Node[] };

/** Parse a path such as `.items[*].metadata.name` (a leading `@` or `$` is allowed). */
export function parsePath(text: string): Step[] {
  const steps: Step[] = [];
  let i = text.startsWith('$') || text.startsWith('@') ? 1 : 0;
  const fail = (why: string): never => {
    throw new JsonPathError(`invalid JSONPath ${JSON.stringify(text)} at position ${i}: ${why}`);
  };
  const name = (): string => {
    const m = /^[A-Za-z0-9_\-/]+/.exec(text.slice(i));
    if (m === null) return fail('expected a field name');
    i += m[0].length;
    return m[0];
  };
  while (i < text.length) {
    if (text.startsWith('..', i)) {
      i += 2;
      steps.push({ kind: 'descend', name: name() });
    } else if (text[i] === '.') {
      i++;
      if (i < text.length && text[i] !== '[') steps.push({ kind: 'field', name: name() });
    } else if (text[i] === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) fail("'[' is not closed");
      const inner = text.slice(i + 1, close).trim();
      const quoted = /^'(.*)'$|^"(.*)"$/.exec(inner);
      const filter = /^\?\(\s*(@[^=!]*?)\s*(==|!=)\s*(?:'([^']*)'|"([^"]*)"|(-?\d+(?:\.\d+)?))\s*\)$/.exec(inner);
      if (inner === '*') steps.push({ kind: 'all' });
      else if (/^-?\d+$/.test(inner)) steps.push({ kind: 'index', index: Number(inner) });
      else if (quoted) steps.push({ kind: 'field', name: quoted[1] ?? quoted[2]! });
      else if (filter) {
        const value = filter[5] !== undefined ? Number(filter[5]) : (filter[3] ?? filter[4]!);
        steps.push({ kind: 'filter', path: parsePath(filter[1]!), op: filter[2] as '==' | '!=', value });
      } else fail(`cannot read [${inner}]; use [N], [*], ['key'] or [?(@.field=="value")]`);
      i = close + 1;
    } else fail(`unexpected ${JSON.stringify(text[i])}`);
  }
  return steps;
}

const unescape = (s: string): string => s.replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);

/** Parse a whole template: text and `{…}` actions. */
export function parseTemplate(template: string): Node[] {
  const root: Node[] = [];
  const stack: { steps: Step[]; body: Node[] }[] = [];
  const current = () => stack.at(-1)?.body ?? root;
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf('{', i);
    if (open < 0) {
      current().push({ kind: 'text', text: template.slice(i) });
      break;
    }
    if (open > i) current().push({ kind: 'text', text: template.slice(i, open) });
    const close = template.indexOf('}', open);
    if (close < 0) throw new JsonPathError(`invalid JSONPath template: the '{' at position ${open} is not closed`);
    const action = template.slice(open + 1, close).trim();
    const literal = /^"((?:[^"\\]|\\.)*)"$|^'((?:[^'\\]|\\.)*)'$/.exec(action);
    if (literal) current().push({ kind: 'text', text: unescape(literal[1] ?? literal[2]!) });
    else if (action.startsWith('range ')) stack.push({ steps: parsePath(action.slice(6).trim()), body: [] });
    else if (action === 'end') {
      const done = stack.pop();
      if (done === undefined) throw new JsonPathError(`invalid JSONPath template: {end} at position ${open} closes no {range}`);
      current().push({ kind: 'range', steps: done.steps, body: done.body });
    } else current().push({ kind: 'path', steps: parsePath(action) });
    i = close + 1;
  }
  if (stack.length > 0) throw new JsonPathError('invalid JSONPath template: a {range} has no {end}');
  return root;
}

/** Every value `steps` reach from `value`. */
export function select(value: unknown, steps: readonly Step[]): unknown[] {
  let current: unknown[] = [value];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of current) {
      if (step.kind === 'field') {
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && step.name in v) next.push((v as Record<string, unknown>)[step.name]);
      } else if (step.kind === 'index') {
        if (Array.isArray(v)) {
          const item = v[step.index < 0 ? v.length + step.index : step.index];
          if (item !== undefined) next.push(item);
        }
      } else if (step.kind === 'all') {
        if (Array.isArray(v)) next.push(...v);
        else if (v !== null && typeof v === 'object') next.push(...Object.values(v));
      } else if (step.kind === 'descend') {
        descend(v, step.name, next);
      } else {
        const items = Array.isArray(v) ? v : [v];
        for (const item of items) {
          const found = select(item, step.path);
          const equal = found.some((f) => f === step.value);
          if (step.op === '==' ? equal : !equal) next.push(item);
        }
      }
    }
    current = next;
  }
  return current;
}

function descend(v: unknown, name: string, out: unknown[]): void {
  if (v === null || typeof v !== 'object') return;
  if (!Array.isArray(v) && name in v) out.push((v as Record<string, unknown>)[name]);
  for (const child of Object.values(v)) descend(child, name, out);
}

/** A value as kubectl prints it in a template: strings bare, everything else as JSON. */
export const printValue = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** Execute a template against `value`. */
export function runTemplate(nodes: readonly Node[], value: unknown): string {
  let out = '';
  for (const n of nodes) {
    if (n.kind === 'text') out += n.text;
    else if (n.kind === 'path') out += select(value, n.steps).map(printValue).join(' ');
    else for (const item of select(value, n.steps)) out += runTemplate(n.body, item);
  }
  return out;
}
