// Transaction types: a display template per locale (issue #11). `payment` is built in (en, nl, fr); a server
// registers others over REST for RFC 9396 `authorization_details` objects of that `type`.
import { z } from 'zod';
import {
  localeSchema,
  TemplateError,
  templatePlaceholders,
  templateTextSchema,
  transactionTypeSchema,
} from '../../../protocol/mobile/transaction.js';

/** Locales one type may hold. */
export const maxLocalesPerType = 20;

export const templatesSchema = z
  .record(localeSchema, templateTextSchema)
  .refine((t) => Object.keys(t).length >= 1, 'at least one locale')
  .refine((t) => Object.keys(t).length <= maxLocalesPerType, `at most ${maxLocalesPerType} locales`)
  .superRefine((templates, ctx) => {
    for (const [locale, text] of Object.entries(templates)) {
      try {
        templatePlaceholders(text);
      } catch (err) {
        if (!(err instanceof TemplateError)) throw err;
        ctx.addIssue({ code: 'custom', path: [locale], message: err.message });
      }
    }
  });

export interface TransactionType {
  name: string;
  templates: Record<string, string>;
  builtin: boolean;
}

/**
 * The nextAuth REST shape (`amount`, `beneficiary`, `description`) becomes this type. The amount and its
 * currency are separate values so the decimal string is shown (and signed) exactly as it was given.
 */
export const paymentType: TransactionType = {
  name: 'payment',
  builtin: true,
  templates: {
    en: 'Pay {amount} {currency} to {beneficiary}. Description: {description}',
    nl: 'Betaal {amount} {currency} aan {beneficiary}. Omschrijving: {description}',
    fr: 'Payer {amount} {currency} à {beneficiary}. Description : {description}',
  },
};

/**
 * An OIDC CIBA request without `authorization_details` (transactions/ciba.ts): the user confirms a login of
 * the named client; the CIBA binding message is shown and signed beside it. A transaction rather than a push
 * login: it needs no browser, and the answer is signed and gets a receipt like any other.
 */
export const cibaLoginType: TransactionType = {
  name: 'ciba-login',
  builtin: true,
  templates: {
    en: 'Log in to {client}',
    nl: 'Inloggen bij {client}',
    fr: 'Se connecter à {client}',
  },
};

export const builtinTypes: readonly TransactionType[] = [paymentType, cibaLoginType];

export const typeNameSchema = transactionTypeSchema;

/** The template of `type` in `locale`, else in its language (`fr` for `fr-BE`), else in `en`, else the first. */
export function templateFor(
  type: TransactionType,
  locale: string | undefined,
): { locale: string; text: string } {
  const entries = Object.entries(type.templates);
  const pick = (l: string) =>
    Object.hasOwn(type.templates, l) ? { locale: l, text: type.templates[l] as string } : undefined;
  const wanted = locale ?? 'en';
  const found = pick(wanted) ?? pick(wanted.split('-')[0] as string) ?? pick('en');
  if (found) return found;
  const [first] = entries;
  if (!first) throw new Error('a transaction type without templates');
  return { locale: first[0], text: first[1] };
}
