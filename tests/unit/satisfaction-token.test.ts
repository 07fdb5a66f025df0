/** Survey links: signed with the server's secret, refused when altered in any part, and once expired. */
import { describe, expect, it } from 'vitest';
import { signSurveyToken, verifySurveyToken } from '../../server/satisfaction';
import { surveyAnswerSchema } from '../../src/lib/api/satisfaction';
import { MAX_SATISFACTION_COMMENT } from '../../src/lib/ticket';

const SECRET = 'a'.repeat(64);
const NOW = 1_800_000_000_000;
const SURVEY = '01JF3ZJ8W2V6Q4Y7N5B3C1D0EA';

describe('survey tokens', () => {
	it('names the survey it was signed for until it expires', () => {
		const token = signSurveyToken(SECRET, SURVEY, NOW + 1000);
		expect(token.startsWith(`${SURVEY}.${NOW + 1000}.`)).toBe(true);
		expect(verifySurveyToken(SECRET, token, NOW)).toEqual({ surveyId: SURVEY });
		expect(verifySurveyToken(SECRET, token, NOW + 1000)).toEqual({ refused: 'expired' });
	});

	it('refuses a token signed with another secret', () => {
		const token = signSurveyToken('b'.repeat(64), SURVEY, NOW + 1000);
		expect(verifySurveyToken(SECRET, token, NOW)).toEqual({ refused: 'invalid' });
	});

	it('refuses a token whose survey, expiry or signature was changed', () => {
		const token = signSurveyToken(SECRET, SURVEY, NOW + 1000);
		const [id, expiry, signature] = token.split('.') as [string, string, string];
		const otherSurvey = `${id.slice(0, -1)}B.${expiry}.${signature}`;
		const later = `${id}.${NOW + 10_000_000}.${signature}`;
		const flipped = `${id}.${expiry}.${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
		for (const tampered of [otherSurvey, later, flipped]) expect(verifySurveyToken(SECRET, tampered, NOW)).toEqual({ refused: 'invalid' });
		// An expired token whose expiry was moved on is invalid, not merely expired.
		const expired = signSurveyToken(SECRET, SURVEY, NOW - 1);
		const extended = expired.replace(`.${NOW - 1}.`, `.${NOW + 1_000_000}.`);
		expect(verifySurveyToken(SECRET, extended, NOW)).toEqual({ refused: 'invalid' });
	});

	it('refuses anything not shaped like a token', () => {
		for (const junk of ['', 'x', `${SURVEY}.1.`, `${SURVEY}..${'a'.repeat(43)}`, `../${SURVEY}.1.${'a'.repeat(43)}`, `${SURVEY}.1.${'a'.repeat(43)}.extra`, `${SURVEY}.1.${'a'.repeat(42)}é`]) {
			expect(verifySurveyToken(SECRET, junk, NOW)).toEqual({ refused: 'invalid' });
		}
	});
});

describe('survey answers', () => {
	it('takes good or bad and a plain-text comment of bounded size', () => {
		expect(surveyAnswerSchema.parse({ rating: 'good', comment: '  Quick and kind.\nThanks!  ' })).toEqual({ rating: 'good', comment: 'Quick and kind.\nThanks!' });
		expect(surveyAnswerSchema.safeParse({ rating: 'meh' }).success).toBe(false);
		expect(surveyAnswerSchema.safeParse({ rating: 'bad', comment: 'x'.repeat(MAX_SATISFACTION_COMMENT + 1) }).success).toBe(false);
		expect(surveyAnswerSchema.safeParse({ rating: 'bad', comment: 'bell\u0007' }).success).toBe(false);
		expect(surveyAnswerSchema.safeParse({ rating: 'bad', extra: 1 }).success).toBe(false);
	});
});
