// Chooses the page's locale: OIDC `ui_locales` (OIDC Core §3.1.2.1, space-separated BCP 47 tags in order of
// preference) first, then the browser's Accept-Language (RFC 9110 §12.5.4, q-values), else English.
import { defaultLocale, type Locale, locales } from './catalogue.js';

/** Caps what is parsed: both come from the request, and a real list of preferences is short. */
const maxHeaderLength = 512;
const maxTags = 20;

/** `nl-BE` → `nl`; undefined when we have no catalogue for the language. */
function supported(tag: string): Locale | undefined {
  const language = tag.trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return (locales as readonly string[]).includes(language) ? (language as Locale) : undefined;
}

/** The first supported tag of a space-separated `ui_locales` value. */
export function fromUiLocales(value: string | undefined): Locale | undefined {
  if (!value) return undefined;
  for (const tag of value.slice(0, maxHeaderLength).split(/\s+/).slice(0, maxTags)) {
    const locale = supported(tag);
    if (locale) return locale;
  }
  return undefined;
}

/** The supported language with the highest q-value (earlier wins a tie); q=0 means "not this one". */
export function fromAcceptLanguage(header: string | undefined): Locale | undefined {
  if (!header) return undefined;
  let best: { locale: Locale; q: number } | undefined;
  for (const part of header.slice(0, maxHeaderLength).split(',').slice(0, maxTags)) {
    const [tag = '', ...params] = part.split(';');
    const locale = supported(tag);
    if (!locale) continue;
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!Number.isFinite(q) || q <= 0 || q > 1) continue;
    if (!best || q > best.q) best = { locale, q };
  }
  return best?.locale;
}

export function chooseLocale(input: {
  uiLocales?: string | undefined;
  acceptLanguage?: string | undefined;
}): Locale {
  return fromUiLocales(input.uiLocales) ?? fromAcceptLanguage(input.acceptLanguage) ?? defaultLocale;
}
