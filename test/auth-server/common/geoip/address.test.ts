// Client addresses: what parses, how IPv4-mapped IPv6 unwraps, and which ranges are "local network".
import { expect } from 'chai';
import { isLocalNetwork, parseIp } from '../../../../auth-server/common/geoip/index.js';

const local = (ip: string) => {
  const parsed = parseIp(ip);
  if (!parsed) throw new Error(`did not parse ${ip}`);
  return isLocalNetwork(parsed);
};

describe('common/geoip: client addresses', () => {
  it('parses IPv4 and IPv6 into a canonical text', () => {
    expect(parseIp('81.2.69.160')).to.deep.include({ family: 4, text: '81.2.69.160' });
    expect(parseIp('2001:DB8::1')).to.deep.include({ family: 6, text: '2001:db8:0:0:0:0:0:1' });
    expect(parseIp('::')).to.deep.include({ family: 6, text: '0:0:0:0:0:0:0:0' });
    expect(parseIp('64:ff9b::192.0.2.33')?.text).to.equal('64:ff9b:0:0:0:0:c000:221');
  });

  it('unwraps IPv4-mapped IPv6 (dual-stack sockets), dotted or hex', () => {
    expect(parseIp('::ffff:81.2.69.160')).to.deep.include({ family: 4, text: '81.2.69.160' });
    expect(parseIp('::FFFF:5102:45a0')).to.deep.include({ family: 4, text: '81.2.69.160' });
    expect(parseIp('0:0:0:0:0:ffff:127.0.0.1')).to.deep.include({ family: 4, text: '127.0.0.1' });
  });

  it('drops an IPv6 zone id', () => {
    expect(parseIp('fe80::1%eth0')).to.deep.include({ family: 6, text: 'fe80:0:0:0:0:0:0:1' });
  });

  it('refuses what is not one address', () => {
    for (const bad of [
      '',
      'localhost',
      '81.2.69',
      '81.2.69.256',
      '081.2.69.160',
      '81.2.69.0/24',
      '81.2.69.160:443',
      '[::1]',
      '1:2:3:4:5:6:7:8:9',
      '::ffff:1.2.3',
      ' 81.2.69.160',
      'x'.repeat(1000),
      null,
      undefined,
      42,
      {},
    ])
      expect(parseIp(bad), String(bad)).to.equal(null);
  });

  it('knows loopback, private, link-local, CGNAT and ULA ranges, IPv4 and IPv6', () => {
    for (const ip of [
      '127.0.0.1',
      '127.255.255.254',
      '10.0.0.1',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.20',
      '169.254.10.10',
      '100.64.0.1',
      '100.127.255.254',
      '::1',
      'fe80::1',
      'febf::1',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:10.1.2.3',
      '::ffff:127.0.0.1',
    ])
      expect(local(ip), ip).to.equal(true);
  });

  it('does not call the neighbours of those ranges local', () => {
    for (const ip of [
      '126.255.255.255',
      '128.0.0.1',
      '9.255.255.255',
      '11.0.0.0',
      '172.15.255.255',
      '172.32.0.0',
      '192.167.1.1',
      '192.169.0.0',
      '169.253.0.1',
      '100.63.255.255',
      '100.128.0.0',
      '81.2.69.160',
      '::2',
      'fec0::1',
      'fb00::1',
      'fe00::1',
      '2001:db8::1',
      '::ffff:81.2.69.160',
      // IPv4-compatible (deprecated) is not IPv4-mapped: ::127.0.0.1 is not loopback.
      '::127.0.0.1',
    ])
      expect(local(ip), ip).to.equal(false);
  });
});
