// The locales of the login pages and their message catalogues; English is the reference and the fallback.
import { en } from './messages-en.js';
import { fr } from './messages-fr.js';
import { nl } from './messages-nl.js';

export const locales = ['en', 'nl', 'fr'] as const;
export type Locale = (typeof locales)[number];
export const defaultLocale: Locale = 'en';

/** Every locale has every key (the type checker enforces it); values are plain text, escaped when rendered. */
export type Messages = { readonly [K in keyof typeof en]: string };
export type MessageKey = keyof Messages;

const catalogues: Record<Locale, Messages> = { en, nl, fr };

export function messages(locale: Locale): Messages {
  return catalogues[locale];
}

/** `{name}` placeholders filled in; a placeholder without a value stays as it is (visible, not silent). */
export function format(text: string, values: Record<string, string | number>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    values[name] === undefined ? whole : String(values[name]),
  );
}
