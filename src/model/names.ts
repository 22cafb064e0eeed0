// Name and label formats (Kubernetes apimachinery validation, as Calico's validator uses it).
//
// Each function returns undefined when the value is valid, else a message saying what is wrong
// and what a valid value looks like.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

export function checkDNS1123Subdomain(value: string, what = 'name'): string | undefined {
  if (value.length === 0) return `${what} must not be empty`;
  if (value.length > 253) return `${what} is ${value.length} characters long; at most 253 are allowed`;
  if (!DNS1123_SUBDOMAIN.test(value)) {
    return `${what} ${JSON.stringify(value)} is not a DNS-1123 subdomain: use lower-case letters, digits, "-" and ".", starting and ending with a letter or digit (e.g. "my-name.example")`;
  }
  return undefined;
}

export function checkDNS1123Label(value: string, what = 'name'): string | undefined {
  if (value.length === 0) return `${what} must not be empty`;
  if (value.length > 63) return `${what} is ${value.length} characters long; at most 63 are allowed`;
  if (!DNS1123_LABEL.test(value)) {
    return `${what} ${JSON.stringify(value)} is not a DNS-1123 label: use lower-case letters, digits and "-", starting and ending with a letter or digit, no "." (e.g. "my-name")`;
  }
  return undefined;
}

/** A label key: optional DNS-subdomain prefix and "/", then a name of at most 63 characters. */
export function checkLabelKey(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash === -1 ? undefined : key.slice(0, slash);
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (prefix !== undefined) {
    const p = checkDNS1123Subdomain(prefix, 'label key prefix');
    if (p !== undefined) return `label key ${JSON.stringify(key)}: ${p}`;
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME_PART.test(name)) {
    return `label key ${JSON.stringify(key)} is not valid: the name part must be 1-63 characters of letters, digits, "-", "_" and ".", starting and ending with a letter or digit, with an optional DNS-subdomain prefix and "/" (e.g. "example.com/app")`;
  }
  return undefined;
}

export function checkLabelValue(value: string): string | undefined {
  if (value.length > 63 || !LABEL_VALUE.test(value)) {
    return `label value ${JSON.stringify(value)} is not valid: use at most 63 letters, digits, "-", "_" and ".", starting and ending with a letter or digit (or leave it empty)`;
  }
  return undefined;
}
