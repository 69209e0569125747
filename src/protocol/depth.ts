// Unknown fields are kept as sent, so their shape is the box's choice. A value nested thousands
// of levels deep would overflow the stack of JSON.stringify when it is stored or echoed: it is
// refused up front, by name, with a walk that keeps its own stack instead of recursing.
import { LIMITS } from './schema.js';
import { ReportValidationError } from './errors.js';

/** Throws ReportValidationError naming `field` when value nests more than maxDepth objects/arrays. */
export function checkNestingDepth(value: unknown, field: string, maxDepth: number = LIMITS.extraMaxDepth): void {
  if (value === null || typeof value !== 'object') return;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (depth > maxDepth) {
      throw new ReportValidationError(field, `nests objects or arrays more than ${maxDepth} levels deep`);
    }
    const children = Array.isArray(node) ? node : Object.values(node);
    for (const child of children) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
}
