import { error } from '@sveltejs/kit';
import type { Principal } from '../../../server/auth/principal';

/** Pages by the roles that may open them (anything else signed-in users may open). */
const ROLE_PAGES: { prefix: string; roles: string[] }[] = [
	{ prefix: '/admin', roles: ['admin'] },
	{ prefix: '/supervisor', roles: ['admin', 'supervisor'] }
];

/** Why `principal` may not open the page at `path`, or null when they may. */
export function pageRefusal(path: string, principal: Principal | null): string | null {
	const rule = ROLE_PAGES.find((r) => path === r.prefix || path.startsWith(r.prefix + '/'));
	if (!rule || (principal?.kind === 'user' && rule.roles.includes(principal.role))) return null;
	return `This page is for ${rule.roles.map((role) => role + 's').join(' and ')}.`;
}

/**
 * The role check as a page load: throwing here (not in the hook) renders the designed error page
 * inside the layout, where a way back is offered. The hook still refuses every other method.
 */
export function refuseUnlessAllowed({ url, locals }: { url: URL; locals: App.Locals }) {
	const refusal = pageRefusal(url.pathname, locals.principal);
	if (refusal) error(403, refusal);
}
