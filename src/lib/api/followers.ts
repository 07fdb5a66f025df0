/** Followers of a ticket as the API shows them (server/followers.ts keeps them). */
import { z } from 'zod';
import { idSchema } from '../ticket/schema';

/** Followers one ticket may have: each notice is sent to each of them. */
export const MAX_FOLLOWERS_PER_TICKET = 50;

export const followerListSchema = z
	.object({
		followers: z.array(
			z.object({
				userId: idSchema,
				name: z.string(),
				reason: z.enum(['button', 'mention', 'cc']).meta({ description: 'Followed with the button, made a follower by a mention of them, or by a CC of a mail on the ticket.' }),
				since: z.number().int()
			})
		),
		following: z.boolean().meta({ description: 'Whether the caller follows the ticket.' }),
		limit: z.number().int().meta({ description: 'How many followers a ticket may have.' })
	})
	.meta({ id: 'FollowerList', description: 'Who follows a ticket (those who may still see it), oldest first.' });
export type FollowerList = z.infer<typeof followerListSchema>;
export type Follower = FollowerList['followers'][number];
