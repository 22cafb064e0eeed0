// kubectl's `-l` label-selector text → Calico selector text, so `tabbyctl get … -l app=web`
// works as it does in kubectl, beside Calico's own syntax (`-l "app == 'web'"`).
//
// kubectl's grammar (k8s.io/apimachinery labels.Parse): requirements joined by ",":
//   key | !key | key=value | key==value | key!=value | key in (a,b) | key notin (a,b)
// Text that uses anything only Calico's language has (quotes, &&, ||, has(…), all(), braces) is
// Calico's and is returned unchanged; kubectl text that does not parse is returned unchanged too,
// so the Calico parser reports the error with its position.

const CALICO_ONLY = /["'&|{}]|\bhas\(|\ball\(\)|\bglobal\(\)/;
const KEY = /^[A-Za-z0-9][-A-Za-z0-9_./]*$/;
const VALUE = /^[-A-Za-z0-9_.]*$/;

/** Calico selector text for `text`, translated when it is kubectl's syntax. */
export function selectorFromLabelFlag(text: string): string {
  if (CALICO_ONLY.test(text) || text.trim() === '') return text;
  const terms = splitRequirements(text)?.map(requirement);
  if (terms === undefined || terms.some((t) => t === undefined)) return text;
  return terms.join(' && ');
}

/** Split on commas outside parentheses; undefined on unbalanced parentheses. */
function splitRequirements(text: string): string[] | undefined {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const c of text) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (depth < 0 || depth > 1) return undefined;
    if (c === ',' && depth === 0) {
      parts.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (depth !== 0) return undefined;
  parts.push(cur.trim());
  return parts;
}

const quote = (v: string) => `'${v}'`;

function requirement(r: string): string | undefined {
  let m = /^!\s*(\S+)$/.exec(r);
  if (m) return KEY.test(m[1]!) ? `!has(${m[1]})` : undefined;
  m = /^(\S+?)\s*(==|=|!=)\s*(\S*)$/.exec(r);
  if (m) {
    const [, key, op, value] = m as unknown as [string, string, string, string];
    if (!KEY.test(key) || !VALUE.test(value)) return undefined;
    return `${key} ${op === '!=' ? '!=' : '=='} ${quote(value)}`;
  }
  m = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(r);
  if (m) {
    const [, key, op, list] = m as unknown as [string, string, string, string];
    const values = list.split(',').map((v) => v.trim());
    if (!KEY.test(key) || values.some((v) => !VALUE.test(v))) return undefined;
    return `${key} ${op === 'in' ? 'in' : 'not in'} { ${values.map(quote).join(', ')} }`;
  }
  return KEY.test(r) ? `has(${r})` : undefined;
}
