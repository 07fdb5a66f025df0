import { json, type RequestEvent } from '@sveltejs/kit';
import { surveyAnswerSchema } from '$lib/api/satisfaction';
import { api, parseJson } from '$lib/server/api';
import { tandem } from '$lib/server/tandem';
import { requireVisitor } from '$lib/server/visitor';
import { ApiError } from '../../../../../../../server/errors';
import type { RequestHandler } from './$types';

/** The ticket of the visitor's own latest chat: the only one whose survey they see or answer. */
async function ownChatTicket(event: RequestEvent, action: 'signals' | 'messages'): Promise<string> {
	const visitor = await requireVisitor(event, action);
	const chat = await tandem().chats.current(visitor);
	if (!chat) throw new ApiError(404, 'no_chat', 'start a chat first');
	return chat.ticketId;
}

/** The satisfaction survey of the visitor's chat (`survey`: null until one is asked). */
export const GET: RequestHandler = (event) =>
	api(async () => json({ survey: await tandem().surveys.chatView(await ownChatTicket(event, 'signals')) }));

/** The visitor answers the survey of their chat: the first answer, or a change within the window. */
export const POST: RequestHandler = (event) =>
	api(async () => {
		const ticketId = await ownChatTicket(event, 'messages');
		const answer = await parseJson(event.request, surveyAnswerSchema);
		return json({ survey: await tandem().surveys.answerChat(ticketId, answer) });
	});
