/** Rules as the API shows them: a rule's webhook secret to admins only. */
import type { Rule } from '$lib/api/rules';
import type { UserPrincipal } from '../../../server/auth/principal';

export function shownRule(rule: Rule, user: UserPrincipal): Rule {
	if (user.role === 'admin') return rule;
	const { webhookSecret: _secret, ...shown } = rule;
	return shown;
}
