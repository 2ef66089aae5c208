// Locale choice of the login pages and the completeness of the catalogues.
import { expect } from 'chai';
import { format, locales, messages } from '../../../idp/i18n/catalogue.js';
import { chooseLocale, fromAcceptLanguage, fromUiLocales } from '../../../idp/i18n/negotiate.js';

describe('idp/i18n: locale negotiation', () => {
  it('takes the first supported tag of ui_locales, regions and case ignored', () => {
    expect(fromUiLocales('de-DE NL-be fr')).to.equal('nl');
    expect(fromUiLocales('fr_CA')).to.equal('fr');
    expect(fromUiLocales('de it')).to.equal(undefined);
    expect(fromUiLocales('')).to.equal(undefined);
  });

  it('takes the supported Accept-Language with the highest q; q=0 and junk are skipped', () => {
    expect(fromAcceptLanguage('de-DE,de;q=0.9,nl;q=0.5,fr;q=0.7')).to.equal('fr');
    expect(fromAcceptLanguage('nl;q=0, fr;q=0.1')).to.equal('fr');
    expect(fromAcceptLanguage('nl;q=abc, en;q=0.2')).to.equal('en');
    expect(fromAcceptLanguage('*')).to.equal(undefined);
    // A tie goes to the earlier one.
    expect(fromAcceptLanguage('fr, nl')).to.equal('fr');
  });

  it('prefers ui_locales, then Accept-Language, then English', () => {
    expect(chooseLocale({ uiLocales: 'nl', acceptLanguage: 'fr' })).to.equal('nl');
    expect(chooseLocale({ uiLocales: 'de', acceptLanguage: 'fr' })).to.equal('fr');
    expect(chooseLocale({})).to.equal('en');
  });

  it('reads only the start of an oversized header or ui_locales', () => {
    expect(fromAcceptLanguage(`${'x,'.repeat(5000)}nl`)).to.equal(undefined);
    expect(fromUiLocales(`${'de '.repeat(30)}nl`)).to.equal(undefined);
  });
});

describe('idp/i18n: catalogues', () => {
  const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

  it('every locale has every text, none empty, with the same placeholders as English', () => {
    const en = messages('en');
    for (const locale of locales) {
      const text = messages(locale);
      expect(Object.keys(text).sort(), locale).to.deep.equal(Object.keys(en).sort());
      for (const [key, value] of Object.entries(text)) {
        expect(value.trim(), `${locale}.${key}`).to.not.equal('');
        expect(placeholders(value), `${locale}.${key}`).to.deep.equal(
          placeholders(en[key as keyof typeof en]),
        );
      }
    }
  });

  it('formats placeholders and leaves unknown ones visible', () => {
    expect(format('New code in {seconds} s', { seconds: 7 })).to.equal('New code in 7 s');
    expect(format('Hi {name}', {})).to.equal('Hi {name}');
  });
});
