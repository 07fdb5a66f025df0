/**
 * Demo satisfaction surveys: two solved tickets rated today (one good with a comment, one bad), so
 * the ticket header and the supervisor dashboard show answers, and one solved email ticket whose
 * survey mail waits in the outbox (DATA_DIR/mail/outbox as an .eml without a relay). The answers
 * are part of the tickets' recorded history (the seed also runs in the CLI, which writes no live
 * documents): `demoSurveys` writes them into the records, `store` the survey rows once recorded.
 */
import { newId, type SatisfactionRating } from '../src/lib/ticket';
import { answerOf, NO_EVENT, SURVEY_LINK_TTL_MS, type SurveyRow } from './satisfaction';
import type { Services } from './services';
import type { TicketRecord } from './tickets';

const ANSWERED: { subject: string; via: 'email' | 'chat'; rating: SatisfactionRating; comment: string | null }[] = [
	{ subject: "Product photos won't upload", via: 'chat', rating: 'good', comment: 'Uploads work again and the tip about image size helped. Thanks, Casey!' },
	{ subject: 'Company name and VAT number on invoice #47102', via: 'email', rating: 'bad', comment: null }
];
const ASKED = 'Cancel subscription at end of term';

export function demoSurveys(demo: readonly TicketRecord[]) {
	const now = Date.now();
	const find = (subject: string) => demo.find((ticket) => ticket.fields.subject === subject)!;
	const answered = ANSWERED.map(({ subject, via, rating, comment }) => {
		const record = find(subject);
		const { channel, requesterId, groupId, assigneeId } = record.fields;
		const survey: SurveyRow = { id: newId(), ticketId: '', solveEventId: NO_EVENT, channel, via, requesterId, groupId, assigneeId, rating, comment, answers: 1, createdAt: now, expiresAt: now + SURVEY_LINK_TTL_MS, ratedAt: now, changedAt: now };
		const { entry, fields } = answerOf(survey);
		record.entries.push(entry);
		Object.assign(record.fields, fields);
		return { record, survey };
	});
	const asked = find(ASKED);
	Object.assign(asked.fields, { satisfaction: 'offered', satisfactionComment: '' });
	return {
		/** Once the records are recorded (`idOf` names each one's ticket): the survey rows, and the asked one's mail. */
		async store({ surveys, index }: Services, idOf: (record: TicketRecord) => string): Promise<void> {
			await surveys.recordAnswered(answered.map(({ record, survey }) => ({ ...survey, ticketId: idOf(record) })));
			await surveys.offerRecorded((await index.get(idOf(asked)))!);
		}
	};
}
