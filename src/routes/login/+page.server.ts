import { fail, redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { SESSION_COOKIE } from '../../../server/auth/sessions';
import { readForm } from '$lib/server/forms';
import { tandem } from '$lib/server/tandem';
import type { Actions, PageServerLoad } from './$types';

const form = z.object({ email: z.string().trim().min(1).max(320), password: z.string().min(1).max(1000) });

export const load: PageServerLoad = ({ locals }) => {
	if (locals.principal?.kind === 'user') redirect(303, '/');
};

export const actions: Actions = {
	default: async (event) => {
		const parsed = form.safeParse(Object.fromEntries(await readForm(event.request)));
		const email = String(parsed.data?.email ?? '');
		if (!parsed.success) return fail(400, { email, message: 'Enter your email and password.' });
		const result = await tandem().auth.signIn(parsed.data.email, parsed.data.password, event.getClientAddress());
		if (!result.ok) {
			if (result.reason === 'throttled') {
				return fail(429, { email, message: `Too many attempts. Try again in ${result.retryAfterSeconds} s.` });
			}
			return fail(400, { email, message: 'Incorrect email or password.' });
		}
		event.cookies.set(SESSION_COOKIE, result.token, {
			path: '/',
			httpOnly: true,
			sameSite: 'lax',
			secure: event.url.protocol === 'https:',
			expires: new Date(result.session.expiresAt)
		});
		redirect(303, '/');
	}
};
