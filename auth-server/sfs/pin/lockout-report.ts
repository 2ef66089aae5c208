// Passes PIN lockouts on to NS, whose audit log and webhooks must show them though only the phone saw the
// refusal. Best effort and after the fact: the PIN check has committed and answered the phone already.
import type { Logger } from '../../common/logging.js';
import type { Peers, PinLockoutReport } from '../../common/peers.js';
import type { PinAudit } from './service.js';

export function forwardPinLockouts(peers: Peers, logger: Logger): (entry: PinAudit) => void {
  return (entry) => {
    if ((entry.event !== 'pin_locked' && entry.event !== 'pin_blocked') || entry.serverId === undefined)
      return;
    const report: PinLockoutReport = {
      serverId: entry.serverId,
      appInstanceId: entry.instanceId,
      lockout: entry.event === 'pin_locked' ? 'locked' : 'blocked',
      ...(entry.retryAfterSeconds !== undefined ? { retryAfterSeconds: entry.retryAfterSeconds } : {}),
    };
    // Read at the time of the lockout: NS starts after SFS and joins `peers` then. Without an NS in this
    // process (`serve sfs`) nothing is reported yet; the HTTP peer of distributed mode will carry it.
    const ns = peers.ns;
    if (!ns) return;
    ns.reportPinLockout(report).catch((err: unknown) =>
      logger.error({ err, serverId: report.serverId }, 'reporting a PIN lockout to NS failed'),
    );
  };
}
