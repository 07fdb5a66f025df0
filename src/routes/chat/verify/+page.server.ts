import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import { tandem } from '$lib/server/tandem';
import type { Actions, PageServerLoad } from './$types';

const token = z.string().min(1).max(200);

/**
 * The link mailed to a chat visitor's address. Opening it only shows what confirming would do (mail
 * scanners open links); the visitor's "Confirm" (a POST) proves the address, once.
 */
export const load: PageServerLoad = async ({ url }) => {
	const parsed = token.safeParse(url.searchParams.get('token'));
	if (!parsed.success) return { token: '', state: 'unknown' as const };
	return { token: parsed.data, ...(await tandem().identities.linkState(parsed.data)) };
};

export const actions: Actions = {
	default: async ({ request }) => {
		const parsed = token.safeParse((await request.formData()).get('token'));
		const { state } = parsed.success ? await tandem().identities.confirm(parsed.data) : { state: 'unknown' as const };
		if (state !== 'valid') return fail(400, { state });
		return { confirmed: true };
	}
};
