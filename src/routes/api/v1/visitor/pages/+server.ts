import { json } from '@sveltejs/kit';
import { chatPageSchema } from '$lib/api/schemas';
import { api, parseJson } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { requireVisitor } from '$lib/server/visitor';
import type { RequestHandler } from './$types';

/** A page the visitor viewed, for the visitor path agents see. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const visitor = await requireVisitor(event, 'signals');
		const page = await parseJson(event.request, chatPageSchema);
		return json(await tandem().chats.recordPage(visitor, page), { status: 201 });
	});
