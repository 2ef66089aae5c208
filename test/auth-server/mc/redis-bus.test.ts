// Live delivery across MC instances on a real Redis: a message posted through instance A's API reaches a
// subscriber of instance B, and only the subscriber of that mailbox.
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { RedisKv } from '../../../auth-server/common/kv/index.js';
import { publishMessage, subscribeMailbox } from '../../../auth-server/mc/mailbox/bus.js';
import type { McMessage } from '../../../protocol/mobile/mc.js';
import { requireService } from '../../helpers/services.js';
import { deleteKeys, probeRedis } from '../common/kv/redis-service.js';

describe('mc bus on Redis', () => {
  let uri: string;
  const prefix = `nextauth-mc-test-${randomBytes(4).toString('hex')}:`;

  before(async function () {
    uri = await requireService(this, 'redis', probeRedis);
  });
  after(async () => {
    if (uri) await deleteKeys(uri, prefix);
  });

  it('a message published by one instance reaches the subscriber of that mailbox on another', async () => {
    const a = new RedisKv(uri, { prefix });
    const b = new RedisKv(uri, { prefix });
    try {
      const message: McMessage = {
        id: 'AAAAAAAAAAAAAAAAAAAAAA',
        cursor: '1',
        createdAt: 1,
        expiresAt: 2,
        sealed: 'nxm1.x.y.z',
      };
      const heardByOther: McMessage[] = [];
      const offOther = await subscribeMailbox(b, 'other-instance', (m) => heardByOther.push(m));
      const received = new Promise<McMessage>((resolve) => {
        void subscribeMailbox(b, 'instance-1', resolve).then(async (off) => {
          await publishMessage(a, 'instance-1', message);
          void received.then(() => off());
        });
      });
      expect(await received).to.deep.equal(message);
      expect(heardByOther).to.deep.equal([]);
      await offOther();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
