import { json } from '@sveltejs/kit';
import { api } from '$lib/server/api';
import { requireSimulatorCaller } from '$lib/server/talk';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** The simulated customer hangs up: a ringing call is abandoned (missed), a call in progress ends. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		requireSimulatorCaller(event);
		const { talkSimulator, calls } = tandem();
		return json(await talkSimulator.hangUp(await calls.carrierRef(event.params.id)));
	});
