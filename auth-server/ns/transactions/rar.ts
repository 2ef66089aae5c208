// RFC 9396 authorization details → the named values a template shows: every string leaf under its dotted
// path (`instructedAmount.amount`). Numbers are refused: an amount must arrive as a decimal string, never
// through a float; `type` names the template and is not a value.
import { transactionValueSchema, valueNameSchema } from '../../../protocol/mobile/transaction.js';
import { TransactionError } from './errors.js';

const maxDepth = 4;
const maxLeaves = 64;

export function authorizationDetailValues(details: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  let leaves = 0;
  const walk = (value: unknown, path: string, depth: number): void => {
    if (typeof value === 'string') {
      if (++leaves > maxLeaves) throw new TransactionError('invalid_values', `at most ${maxLeaves} values`);
      if (!valueNameSchema.safeParse(path).success || !transactionValueSchema.safeParse(value).success)
        throw new TransactionError('invalid_values', `${path}: not a name or text that can be shown`);
      out[path] = value;
      return;
    }
    if (typeof value === 'number' || typeof value === 'boolean' || value === null)
      throw new TransactionError('invalid_values', `${path}: values must be strings (amounts as "12.50")`);
    if (depth >= maxDepth) throw new TransactionError('invalid_values', `${path}: nested too deeply`);
    if (Array.isArray(value)) for (const [i, v] of value.entries()) walk(v, `${path}.${i}`, depth + 1);
    else if (typeof value === 'object')
      for (const [key, v] of Object.entries(value as Record<string, unknown>))
        walk(v, path === '' ? key : `${path}.${key}`, depth + 1);
  };
  for (const [key, value] of Object.entries(details)) if (key !== 'type') walk(value, key, 1);
  return out;
}
