import { json } from '@sveltejs/kit';
import { api } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { requireVisitor, visitorToken } from '$lib/server/visitor';
import type { RequestHandler } from './$types';

/** A visitor session for the chat widget: the existing one when the token is still good, else a new one (201, with its token). */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const { chats } = tandem();
		const known = await chats.visitor(visitorToken(event));
		if (known) return json({ visitorId: known.id, chat: await chats.current(known) });
		await chats.limit('sessions', event.getClientAddress());
		const { visitor, token } = await chats.createVisitor();
		return json({ visitorId: visitor.id, token, chat: null }, { status: 201 });
	});

/** The visitor and their latest chat. */
export const GET: RequestHandler = (event) =>
	api(async () => {
		const visitor = await requireVisitor(event);
		return json({ visitorId: visitor.id, chat: await tandem().chats.current(visitor) });
	});
