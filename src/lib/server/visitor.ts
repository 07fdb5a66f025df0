/**
 * The chat visitor behind a request: the widget sends its token in `X-Visitor-Token` (or, for the
 * event stream, which cannot set headers, as `?token=`). Visitors are not principals: they reach
 * only the /api/v1/visitor endpoints, and only their own chat.
 */
import type { RequestEvent } from '@sveltejs/kit';
import { ApiError } from '../../../server/errors';
import type { Visitor, VisitorAction } from '../../../server/channels/chat';
import { tandem } from './tandem';

export const VISITOR_HEADER = 'x-visitor-token';

export function visitorToken(event: RequestEvent): string | null {
	return event.request.headers.get(VISITOR_HEADER) ?? event.url.searchParams.get('token');
}

/** The visitor, their request counted against `action`'s rate limit when given (429 past it). */
export async function requireVisitor(event: RequestEvent, action?: VisitorAction): Promise<Visitor> {
	const { chats } = tandem();
	const visitor = await chats.visitor(visitorToken(event));
	if (!visitor) throw new ApiError(401, 'unauthorized', `send the visitor token from POST /api/v1/visitor in ${VISITOR_HEADER}`);
	if (action) await chats.limit(action, visitor.id);
	return visitor;
}
