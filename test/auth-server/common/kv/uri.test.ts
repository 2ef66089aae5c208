// KV URI handling: which implementation createKv picks, and how Redis URIs become ioredis options.
import { expect } from 'chai';
import { createKv, MemoryKv, parseRedisUri, RedisKv } from '../../../../auth-server/common/kv/index.js';

describe('createKv', () => {
  it('unset or memory:// gives a MemoryKv', async () => {
    for (const uri of [undefined, 'memory://', 'MEMORY://']) {
      const kv = createKv(uri, { prefix: 'p:' });
      expect(kv).to.be.instanceOf(MemoryKv);
      await kv.close();
    }
  });

  it('each memory Kv has its own data', async () => {
    const [a, b] = [createKv(undefined), createKv('memory://')];
    await a.set('k', 'v');
    expect(await b.get('k')).to.equal(null);
    await Promise.all([a.close(), b.close()]);
  });

  it('redis://, rediss:// and redis+sentinel:// give a RedisKv (connecting lazily is not required)', async () => {
    // Port 1 refuses at once; close() must stop the reconnect loop.
    for (const uri of [
      'redis://127.0.0.1:1',
      'rediss://127.0.0.1:1',
      'redis+sentinel://127.0.0.1:1/mymaster',
    ]) {
      const kv = createKv(uri);
      expect(kv).to.be.instanceOf(RedisKv);
      await kv.close();
    }
  });

  it('names an unknown scheme in a clear error', () => {
    expect(() => createKv('http://localhost:6379')).to.throw(/unsupported KV URI scheme "http:\/\/"/);
    expect(() => createKv('mongodb://x')).to.throw(/expected memory:\/\/, redis:\/\//);
    expect(() => createKv('localhost:6379')).to.throw(/no scheme/);
    expect(() => createKv('memory://elsewhere')).to.throw(/memory:\/\/ takes no host/);
  });
});

describe('parseRedisUri', () => {
  it('redis:// with defaults', () => {
    expect(parseRedisUri('redis://cache')).to.deep.equal({ host: 'cache', port: 6379 });
  });

  it('redis:// with credentials, port and database', () => {
    expect(parseRedisUri('redis://app:s%40cr%3At@cache.internal:6380/3')).to.deep.equal({
      username: 'app',
      password: 's@cr:t',
      host: 'cache.internal',
      port: 6380,
      db: 3,
    });
    expect(parseRedisUri('redis://:only-password@cache/')).to.deep.equal({
      password: 'only-password',
      host: 'cache',
      port: 6379,
    });
  });

  it('rediss:// turns TLS on; IPv6 hosts in brackets', () => {
    expect(parseRedisUri('rediss://[::1]:7000/0')).to.deep.equal({ host: '::1', port: 7000, db: 0, tls: {} });
  });

  it('redis+sentinel:// lists sentinels and the master name', () => {
    expect(
      parseRedisUri(
        'redis+sentinel://app:pw@host1:26380,host2,[fd00::2]:26381/mymaster?db=2&sentinelUsername=s&sentinelPassword=sp',
      ),
    ).to.deep.equal({
      username: 'app',
      password: 'pw',
      sentinels: [
        { host: 'host1', port: 26380 },
        { host: 'host2', port: 26379 },
        { host: 'fd00::2', port: 26381 },
      ],
      name: 'mymaster',
      db: 2,
      sentinelUsername: 's',
      sentinelPassword: 'sp',
    });
  });

  const refused: [string, RegExp][] = [
    ['redis+sentinel://host1:26379', /master name/],
    ['redis+sentinel://host1:26379/a/b', /master name/],
    ['redis://h1,h2', /one host/],
    ['redis://', /no host/],
    ['redis://host:99999', /invalid port/],
    ['redis://host:port', /invalid host/],
    ['redis://host/zero', /invalid Redis database/],
    ['redis://host?db=1', /unknown query parameter "db" for redis:\/\/ \(allowed: none\)/],
    ['redis+sentinel://h/m?password=x', /unknown query parameter "password"/],
    ['redis+sentinel://h/m?db=x', /invalid Redis database/],
    ['ftp://host', /unsupported URI scheme "ftp:\/\/"/],
    ['not a uri', /malformed/],
  ];
  for (const [uri, message] of refused) {
    it(`refuses ${uri}`, () => {
      expect(() => parseRedisUri(uri)).to.throw(message);
    });
  }

  it('never puts the password in an error', () => {
    for (const uri of [
      'redis://u:hunter2@h1,h2',
      'redis://u:hunter2@',
      'redis://u:hunter2@h:0',
      'x://u:hunter2@h',
    ]) {
      expect(() => parseRedisUri(uri))
        .to.throw()
        .that.satisfies((e: Error) => !e.message.includes('hunter2'));
    }
  });
});
