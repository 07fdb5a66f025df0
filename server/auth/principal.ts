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
}

export type Principal = UserPrincipal | BotPrincipal | SystemPrincipal;

export const SYSTEM: SystemPrincipal = { kind: 'system' };

/** How a principal is named in the update log and the event log. */
export function actorOf(principal: Principal): string {
	return principal.kind === 'system' ? 'system' : `${principal.kind}:${principal.id}`;
}
