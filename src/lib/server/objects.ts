/** Who may write custom object records: integrations (API tokens) and admins. */
import type { RequestEvent } from '@sveltejs/kit';
import { forbidden } from '../../../server/errors';
import type { Principal } from '../../../server/auth/principal';
import { requirePrincipal } from './api';

export function requireRecordWriter(event: RequestEvent): Principal {
	const principal = requirePrincipal(event);
	if (principal.kind === 'user' && principal.role !== 'admin') throw forbidden('records are written by integrations (API tokens) and admins');
	return principal;
}
