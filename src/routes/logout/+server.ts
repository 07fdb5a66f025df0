import { redirect } from '@sveltejs/kit';
import { SESSION_COOKIE } from '../../../server/auth/sessions';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

export const POST: RequestHandler = async ({ locals, cookies }) => {
	if (locals.session) await tandem().auth.signOut(locals.session);
	cookies.delete(SESSION_COOKIE, { path: '/' });
	redirect(303, '/login');
};
