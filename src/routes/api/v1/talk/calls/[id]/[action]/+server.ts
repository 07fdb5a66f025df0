import { json } from '@sveltejs/kit';
import { api, parseJson, requireUser } from '$lib/server/api';
import { transferCallSchema } from '$lib/api/schemas';
import { callAction } from '$lib/server/talk';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** accept, decline, hold, resume, transfer `{toUserId} | {toGroupId}`, end: 409 when the call's state does not allow it. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const user = requireUser(event);
		const action = callAction(event.params.action);
		const { calls } = tandem();
		const id = event.params.id;
		switch (action) {
			case 'transfer':
				return json(await calls.transfer(id, user, await parseJson(event.request, transferCallSchema)));
			case 'accept':
				return json(await calls.accept(id, user));
			case 'decline':
				return json(await calls.decline(id, user));
			case 'hold':
				return json(await calls.hold(id, user));
			case 'resume':
				return json(await calls.resume(id, user));
			case 'end':
				return json(await calls.end(id, user));
		}
	});
