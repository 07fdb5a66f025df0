/** Notices kept for a colleague (server/notices.ts) as the API shows them, and what marks them read. */
import { z } from 'zod';
import { idSchema } from '../ticket/schema';

/** Notices one listing returns, newest first. */
export const MAX_NOTICES_LISTED = 50;

export const storedNoticeSchema = z
	.object({
		id: idSchema,
		kind: z.enum(['follow', 'side']).meta({ description: '`follow`: a mention, or a followed ticket’s message or status (a FollowNotice); `side`: an internal side conversation (a SideNotice).' }),
		ticketId: idSchema,
		notice: z.record(z.string(), z.unknown()).meta({ description: 'The notice as the stream carried it (`follow` or `side` event).' }),
		createdAt: z.number().int(),
		readAt: z.number().int().nullable()
	})
	.meta({ id: 'StoredNotice', description: 'A notice kept for its colleague, about a ticket they may see now.' });
export type StoredNotice = z.infer<typeof storedNoticeSchema>;

export const noticeListSchema = z.object({ notices: z.array(storedNoticeSchema) }).meta({ id: 'NoticeList' });

export const markNoticesReadSchema = z
	.union([z.strictObject({ ids: z.array(idSchema).min(1).max(MAX_NOTICES_LISTED) }), z.strictObject({ all: z.literal(true) })])
	.meta({ id: 'MarkNoticesRead', description: 'The notices to mark read: some by id (those not the caller’s are left alone), or all of the caller’s.' });
export type MarkNoticesRead = z.infer<typeof markNoticesReadSchema>;
