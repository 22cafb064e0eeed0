// Reference evaluator: walks the tree for every evaluation, the way Calico's Go AST nodes do.
//
// It is the obvious, easily-reviewed statement of the semantics (calico-internals.md §3.3) and
// serves two purposes: tests check the compiled matchers against it on random inputs, and the
// selector benchmark uses it as the anchor the compiled matchers are measured against.

import type { SelectorNode } from './ast.js';
import { labelValue, type Labels } from './labels.js';

export function evaluateTree(node: SelectorNode, labels: Labels): boolean {
  switch (node.kind) {
    case 'all':
    case 'global':
      return true;
    case 'has':
      return labelValue(labels, node.label) !== undefined;
    case 'eq': {
      const v = labelValue(labels, node.label);
      return v !== undefined && v === node.value;
    }
    case 'ne': {
      const v = labelValue(labels, node.label);
      return v === undefined || v !== node.value;
    }
    case 'contains': {
      const v = labelValue(labels, node.label);
      return v !== undefined && v.includes(node.value);
    }
    case 'startsWith': {
      const v = labelValue(labels, node.label);
      return v !== undefined && v.startsWith(node.value);
    }
    case 'endsWith': {
      const v = labelValue(labels, node.label);
      return v !== undefined && v.endsWith(node.value);
    }
    case 'in': {
      const v = labelValue(labels, node.label);
      return v !== undefined && node.values.includes(v);
    }
    case 'notIn': {
      const v = labelValue(labels, node.label);
      return v === undefined || !node.values.includes(v);
    }
    case 'not':
      return !evaluateTree(node.operand, labels);
    case 'and':
      for (const operand of node.operands) if (!evaluateTree(operand, labels)) return false;
      return true;
    case 'or':
      for (const operand of node.operands) if (evaluateTree(operand, labels)) return true;
      return false;
  }
}
