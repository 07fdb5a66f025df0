import { describe, expect, it } from 'vitest';
import { pickedTime, snoozeChoices } from '../../src/lib/snooze-times';

describe('snooze choices', () => {
	it('offers later today, tomorrow at 9, Monday at 9 and a week ahead, all in the future', () => {
		// A Wednesday afternoon.
		const now = new Date(2026, 11, 9, 15, 30);
		const choices = snoozeChoices(now);
		expect(choices.map((c) => c.label.split(',')[0])).toEqual(['In 3 hours', 'Tomorrow', 'Monday', 'In a week']);
		expect(new Date(choices[1]!.at)).toEqual(new Date(2026, 11, 10, 9));
		expect(new Date(choices[2]!.at)).toEqual(new Date(2026, 11, 14, 9));
		for (const c of choices) expect(c.at).toBeGreaterThan(now.getTime());
	});

	it('offers Monday once on a Sunday, and the Monday after next on a Monday', () => {
		const sunday = new Date(2026, 11, 13, 20);
		expect(snoozeChoices(sunday).map((c) => c.label.split(',')[0])).toEqual(['In 3 hours', 'Tomorrow', 'In a week']);
		const monday = new Date(2026, 11, 14, 8);
		expect(new Date(snoozeChoices(monday)[2]!.at)).toEqual(new Date(2026, 11, 21, 9));
	});

	it('takes a picked time only when it is a time in the future', () => {
		const now = new Date(2026, 11, 9, 15).getTime();
		expect(pickedTime('2026-12-10T08:15', now)).toBe(new Date(2026, 11, 10, 8, 15).getTime());
		expect(pickedTime('2026-12-09T14:00', now)).toBeNull();
		expect(pickedTime('', now)).toBeNull();
		expect(pickedTime('not a date', now)).toBeNull();
	});
});
