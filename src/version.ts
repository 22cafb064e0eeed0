// Build identity, printed by `tabbyctl version` and `tabby --version`.
export const TABBY_VERSION = '0.1.0';
/** The Calico API version Tabby speaks. */
export const CALICO_API_VERSION = 'projectcalico.org/v3';
