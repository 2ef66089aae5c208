// "City, Country" in English from a GeoIP2 City or Country record, fit for the phone's confirmation screen.
import type { CityResponse } from 'mmdb-lib';

/** What the login challenge allows (`browser.location`, protocol/mobile/ns.ts). */
export const maxLocationLength = 120;

/**
 * The English name of a city or country record, cleaned: names come from a file, and a control or bidi
 * character (U+202E) could make the phone show something else than what is there.
 */
function englishName(record: { names?: { en?: unknown } } | undefined): string | null {
  const name = record?.names?.en;
  if (typeof name !== 'string') return null;
  const clean = name
    .replace(/\s+/g, ' ')
    .replace(/[\p{Cc}\p{Cf}]/gu, '')
    .trim();
  return clean === '' ? null : clean;
}

function cap(text: string): string {
  if (text.length <= maxLocationLength) return text;
  // Cut on a code point, never inside a surrogate pair.
  const cut = text.slice(0, maxLocationLength - 1).replace(/[\uD800-\uDBFF]$/, '');
  return `${cut}…`;
}

/**
 * "City, Country", or "Country" without a city, or null when the record places nothing. Only the country
 * where the address is used counts: `registered_country` is where the network was registered, which can be
 * another continent and would mislead the user deciding whether this login is theirs.
 */
export function placeName(record: CityResponse): string | null {
  const city = englishName(record.city);
  const country = englishName(record.country);
  const text = [city, country].filter((p): p is string => p !== null).join(', ');
  return text === '' ? null : cap(text);
}
