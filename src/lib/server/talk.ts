/** Talk endpoints' shared checks. */
import type { RequestEvent } from '@sveltejs/kit';
import { CALL_ACTIONS, type CallAction } from '../api/schemas';
import { ApiError, forbidden, notFound } from '../../../server/errors';
import { requirePrincipal } from './api';
import { tandem } from './tandem';

/** Who may drive the Talk simulator: admins, and API tokens scoped to the talk channel (the CLI's `talk call`). */
export function requireSimulatorCaller(event: RequestEvent): void {
	const principal = requirePrincipal(event);
	if (principal.kind === 'user' && principal.role === 'admin') return;
	if (principal.kind === 'bot' && principal.channels.includes('talk')) return;
	throw forbidden('the Talk simulator is for admins and API tokens scoped to the talk channel');
}

/** The number a simulated caller dials when none is given: the first Talk number. */
export async function defaultTalkNumber(): Promise<string> {
	const [first] = await tandem().talkNumbers.list();
	if (!first) throw new ApiError(422, 'unknown_number', 'no Talk number is configured: add one on the admin page first', 'to');
	return first.number;
}

/** The action of `POST /talk/calls/{id}/{action}`; 404 for any other path. */
export function callAction(name: string): CallAction {
	if (!(CALL_ACTIONS as readonly string[]).includes(name)) throw notFound('call action');
	return name as CallAction;
}
