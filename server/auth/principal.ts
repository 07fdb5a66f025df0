/** Who is acting: a signed-in user, a bot holding an API token, or the server itself. */
export type Role = 'admin' | 'supervisor' | 'agent';
export const ROLES: readonly Role[] = ['admin', 'supervisor', 'agent'];

export interface UserPrincipal {
	kind: 'user';
	id: string;
	role: Role;
	name: string;
	email: string;
	groupIds: string[];
}

export interface BotPrincipal {
	kind: 'bot';
	/** The API token's id. */
	id: string;
	name: string;
	channels: string[];
}

export interface SystemPrincipal {
	kind: 'system';
	/** The trigger or automation the server acts for (server/rules): its changes are logged as `rule:<id>`. */
	rule?: { id: string; name: string };
}

export type Principal = UserPrincipal | BotPrincipal | SystemPrincipal;

export const SYSTEM: SystemPrincipal = { kind: 'system' };

/** How a principal is named in the update log and the event log. */
export function actorOf(principal: Principal): string {
	if (principal.kind === 'system') return principal.rule ? `rule:${principal.rule.id}` : 'system';
	return `${principal.kind}:${principal.id}`;
}
