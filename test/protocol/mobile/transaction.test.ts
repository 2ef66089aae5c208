// The signed data of a transaction: JCS bytes, template rendering and its refusals, signature round trip.
import { expect } from 'chai';
import { generateIdentityKeyPair, publicKeyToJwk, signerFromKeyPair } from '../../../protocol/keys.js';
import {
  canonicalTransaction,
  renderTemplate,
  signTransaction,
  TemplateError,
  type TransactionSignedData,
  templatePlaceholders,
  transactionSignedDataSchema,
  verifyTransactionSignature,
} from '../../../protocol/mobile/transaction.js';

const data: TransactionSignedData = {
  purpose: 'nextauth-transaction-v1',
  tid: 'A'.repeat(22),
  server: 'https://id.example/ns/default',
  type: 'payment',
  template: { id: 'payment:en', sha256: 'h'.repeat(43) },
  locale: 'en',
  values: { currency: 'EUR', amount: '12.50', beneficiary: 'Zoë' },
};

describe('protocol: transaction signed data', () => {
  it('JCS sorts members and keeps amounts as strings', () => {
    expect(canonicalTransaction(data)).to.equal(
      `{"locale":"en","purpose":"nextauth-transaction-v1","server":"https://id.example/ns/default","template":{"id":"payment:en","sha256":"${'h'.repeat(43)}"},"tid":"${'A'.repeat(22)}","type":"payment","values":{"amount":"12.50","beneficiary":"Zoë","currency":"EUR"}}`,
    );
  });

  it('renders placeholders and literal braces, refuses missing values and stray braces', () => {
    expect(renderTemplate('Pay {amount} {currency} {{ref}}', data.values)).to.equal('Pay 12.50 EUR {ref}');
    expect(templatePlaceholders('{a.b} and {c} and {a.b}')).to.deep.equal(['a.b', 'c']);
    expect(() => renderTemplate('Pay {missing}', data.values)).to.throw(TemplateError);
    expect(() => renderTemplate('Pay } now', data.values)).to.throw(TemplateError);
    expect(() => renderTemplate('Pay {amount', data.values)).to.throw(TemplateError);
    // A value named like an Object member is not found through the prototype.
    expect(() => renderTemplate('{constructor}', {})).to.throw(TemplateError);
  });

  it('refuses numbers, control and bidi characters and unknown members in signed data', () => {
    expect(transactionSignedDataSchema.safeParse({ ...data, values: { amount: 12.5 } }).success).to.equal(
      false,
    );
    expect(transactionSignedDataSchema.safeParse({ ...data, values: { a: 'x\u202ey' } }).success).to.equal(
      false,
    );
    expect(transactionSignedDataSchema.safeParse({ ...data, extra: 1 }).success).to.equal(false);
  });

  it('a signature verifies over the same data only', async () => {
    const signer = await signerFromKeyPair(await generateIdentityKeyPair());
    const jwk = publicKeyToJwk(signer.publicKey);
    const signature = await signTransaction(signer, data);
    expect(await verifyTransactionSignature(jwk, data, signature)).to.equal(true);
    const other = { ...data, values: { ...data.values, amount: '12.51' } };
    expect(await verifyTransactionSignature(jwk, other, signature)).to.equal(false);
    expect(await verifyTransactionSignature(jwk, data, 'x')).to.equal(false);
  });
});
