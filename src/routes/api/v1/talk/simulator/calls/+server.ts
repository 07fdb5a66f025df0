import { json } from '@sveltejs/kit';
import { api, parseJson } from '$lib/server/api';
import { simulatedCallSchema } from '$lib/api/schemas';
import { defaultTalkNumber, requireSimulatorCaller } from '$lib/server/talk';
import { tandem } from '$lib/server/tandem';
import type { RequestHandler } from './$types';

/** Makes the phone ring: a simulated caller `from` dials Talk number `to` (default: the first one). */
export const POST: RequestHandler = (event) =>
	api(async () => {
		requireSimulatorCaller(event);
		const input = await parseJson(event.request, simulatedCallSchema);
		const call = await tandem().talkSimulator.ring({ from: input.from, to: input.to ?? (await defaultTalkNumber()), callerName: input.name });
		return json(call, { status: 201 });
	});
