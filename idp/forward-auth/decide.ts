// The access decision for one forward-auth request: the first matching rule against the IdP session and
// the NS user (pure, so every branch is tested without HTTP).
import type { NsUserProfile } from '../../auth-server/common/peers.js';
import type { IdpSession } from '../session/types.js';
import { matchRule, type RuleRequest, type RuleSet } from './rules.js';

export type Decision =
  /** 200 with the identity headers. */
  | { kind: 'allow'; rule?: number }
  /** 403: a `deny` rule, or an authenticated user the rule does not admit (groups, amr). */
  | { kind: 'forbidden'; reason: 'rule_denies' | 'not_in_group' | 'amr_missing'; rule: number }
  /** To the login page: no session, or (`maxAge`) a step-up because the phone confirmation is too old. */
  | { kind: 'login'; reason: 'no_session' | 'step_up'; maxAge?: number; rule?: number };

export function decide(
  ruleSet: RuleSet,
  req: RuleRequest,
  session: IdpSession | undefined,
  profile: NsUserProfile | undefined,
  nowSeconds: number,
): Decision {
  const rule = matchRule(ruleSet.rules, req);
  const policy = rule?.policy ?? { kind: 'authenticated' as const };
  const at = rule ? { rule: rule.index } : {};
  // A denied route is denied to everyone: a login could not change the answer.
  if (policy.kind === 'deny') return { kind: 'forbidden', reason: 'rule_denies', rule: rule?.index ?? 0 };
  if (!session) return { kind: 'login', reason: 'no_session', ...at };
  const index = rule?.index ?? 0;
  if (policy.groups && !policy.groups.some((g) => profile?.groups.includes(g))) {
    return { kind: 'forbidden', reason: 'not_in_group', rule: index };
  }
  // A fresh login would not change how the phone confirms (the app picks PIN or biometrics): 403, no loop.
  if (policy.amr && !policy.amr.every((m) => session.amr.includes(m))) {
    return { kind: 'forbidden', reason: 'amr_missing', rule: index };
  }
  if (policy.recentAuthSeconds !== undefined && nowSeconds - session.authTime > policy.recentAuthSeconds) {
    return { kind: 'login', reason: 'step_up', maxAge: policy.recentAuthSeconds, rule: index };
  }
  return { kind: 'allow', ...at };
}
