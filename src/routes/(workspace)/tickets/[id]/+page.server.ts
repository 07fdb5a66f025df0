import { tandem } from '$lib/server/tandem';
import type { PageServerLoad } from './$types';

/** Entries in the server-rendered first view: more than a screenful. */
const TAIL_ENTRIES = 30;

/**
 * The newest entries, rendered into the first HTML so the conversation shows at once; the live
 * document takes over once synced. A ticket the user may not read (or that fails to load) gets no
 * preview: the live view reports why.
 */
export const load: PageServerLoad = async ({ params, locals, isDataRequest }) => {
	// Only for a page load: moving between tabs in the app needs no round trip first.
	if (isDataRequest || locals.principal?.kind !== 'user') return { tail: null };
	try {
		return { tail: await tandem().tickets.tail(params.id, locals.principal, TAIL_ENTRIES) };
	} catch {
		return { tail: null };
	}
};
