/**
 * Demo satisfaction surveys: two solved tickets rated today (one good with a comment, one bad), so
 * the ticket header and the supervisor dashboard show answers, and one solved email ticket whose
 * survey mail waits in the outbox (DATA_DIR/mail/outbox as an .eml without a relay).
 */
import { eq } from 'drizzle-orm';
import type { Services } from './services';

export async function seedSatisfaction({ store, surveys }: Services): Promise<void> {
	const { tickets } = store.tables;
	const bySubject = async (subject: string) => (await store.db.select().from(tickets).where(eq(tickets.subject, subject)).limit(1))[0]!;
	await surveys.recordAnswered(await bySubject("Product photos won't upload"), 'chat', 'good', 'Uploads work again and the tip about image size helped. Thanks, Casey!');
	await surveys.recordAnswered(await bySubject('Company name and VAT number on invoice #47102'), 'email', 'bad', null);
	await surveys.offerRecorded(await bySubject('Cancel subscription at end of term'));
}
