import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addBusinessMinutes, businessMinutesBetween, isOpen, officeHours, parseMinute, type BusinessSchedule } from '../../src/lib/business-hours';

const berlin = officeHours('Europe/Berlin');
const newYork: BusinessSchedule = { ...officeHours('America/New_York'), holidays: ['2026-11-26'] };
const utc = (text: string) => Date.parse(text);
const H = 60;

describe('business hours', () => {
	it('is open Monday to Friday 9 to 17 in the zone, closed on holidays', () => {
		expect(isOpen(berlin, utc('2026-01-05T08:00:00Z'))).toBe(true); // Monday 9:00 CET
		expect(isOpen(berlin, utc('2026-01-05T07:59:59Z'))).toBe(false);
		expect(isOpen(berlin, utc('2026-01-05T16:00:00Z'))).toBe(false); // 17:00 CET: closed from then
		expect(isOpen(berlin, utc('2026-01-10T10:00:00Z'))).toBe(false); // Saturday
		expect(isOpen(newYork, utc('2026-11-26T15:00:00Z'))).toBe(false); // Thanksgiving, 10:00 EST
		expect(isOpen(newYork, utc('2026-11-27T15:00:00Z'))).toBe(true);
		expect(isOpen(null, utc('2026-01-10T03:00:00Z'))).toBe(true);
	});

	it('adds business minutes across nights, weekends and holidays', () => {
		// Friday 16:00 CET + 2 h → Monday 10:00 CET.
		expect(addBusinessMinutes(berlin, utc('2026-01-09T15:00:00Z'), 2 * H)).toBe(utc('2026-01-12T09:00:00Z'));
		// Saturday night + 30 min → Monday 9:30.
		expect(addBusinessMinutes(berlin, utc('2026-01-10T22:00:00Z'), 30)).toBe(utc('2026-01-12T08:30:00Z'));
		// Wednesday 16:00 EST + 2 h, Thanksgiving closed → Friday 10:00 EST.
		expect(addBusinessMinutes(newYork, utc('2026-11-25T21:00:00Z'), 2 * H)).toBe(utc('2026-11-27T15:00:00Z'));
		// Exactly at the close, the next open minute: the interval's end is not open.
		expect(addBusinessMinutes(berlin, utc('2026-01-05T08:00:00Z'), 8 * H)).toBe(utc('2026-01-05T16:00:00Z'));
		expect(addBusinessMinutes(null, 1000, 2)).toBe(1000 + 120_000);
	});

	it('keeps local opening times across daylight saving changes', () => {
		// Friday 27 March 2026 16:00 CET + 2 h → Monday 30 March 10:00 CEST (08:00 UTC, the clocks went forward on Sunday).
		expect(addBusinessMinutes(berlin, utc('2026-03-27T15:00:00Z'), 2 * H)).toBe(utc('2026-03-30T08:00:00Z'));
		// Friday 23 October 16:00 CEST + 2 h → Monday 26 October 10:00 CET (09:00 UTC).
		expect(addBusinessMinutes(berlin, utc('2026-10-23T14:00:00Z'), 2 * H)).toBe(utc('2026-10-26T09:00:00Z'));
		// A shift across the night the clocks change is as long as its hours say: 22:00–06:00 local.
		const night: BusinessSchedule = { timeZone: 'Europe/Berlin', week: Array.from({ length: 7 }, () => [[0, 6 * H], [22 * H, 24 * H]] as [number, number][]), holidays: [] };
		// Saturday 28 March 22:00 CET to Sunday 06:00 CEST: 2 + 5 open hours (02:00–03:00 never happens).
		expect(businessMinutesBetween(night, utc('2026-03-28T21:00:00Z'), utc('2026-03-29T04:00:00Z'))).toBe(7 * H);
		// Saturday 24 October 22:00 CEST to Sunday 06:00 CET: 2 + 7 hours (02:00–03:00 happens twice).
		expect(businessMinutesBetween(night, utc('2026-10-24T20:00:00Z'), utc('2026-10-25T05:00:00Z'))).toBe(9 * H);
	});

	it('counts business minutes between two instants', () => {
		expect(businessMinutesBetween(berlin, utc('2026-01-09T15:00:00Z'), utc('2026-01-12T09:00:00Z'))).toBe(2 * H);
		expect(businessMinutesBetween(berlin, utc('2026-01-12T09:00:00Z'), utc('2026-01-09T15:00:00Z'))).toBe(0);
		expect(businessMinutesBetween(null, 0, 90_000)).toBe(1.5);
	});

	it('never finds an open minute in a schedule that is always closed', () => {
		const closed: BusinessSchedule = { timeZone: 'UTC', week: [[], [], [], [], [], [], []], holidays: [] };
		expect(addBusinessMinutes(closed, 0, 1)).toBeNull();
	});

	it('reads times of day', () => {
		expect(parseMinute('09:30')).toBe(570);
		expect(parseMinute('24:00')).toBe(1440);
		expect(parseMinute('24:01')).toBeNull();
		expect(parseMinute('9:60')).toBeNull();
	});

	const zones = fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Sydney', 'Asia/Kolkata', 'America/Sao_Paulo');
	const interval = fc.tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 600 })).map(([start, length]) => [start, Math.min(1440, start + length)] as [number, number]);
	const day = fc.array(interval, { maxLength: 2 }).map((list) => {
		const sorted = list.sort((a, b) => a[0] - b[0]);
		return sorted.filter((item, i) => i === 0 || item[0] >= sorted[i - 1]![1]);
	});
	const schedule = fc.record({ timeZone: zones, week: fc.array(day, { minLength: 7, maxLength: 7 }), holidays: fc.constant([] as string[]) }).filter((s) => s.week.some((d) => d.length > 0));
	const instant = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2028, 0, 1) });

	it('adds what it counts, and adding in two steps is adding once (property)', () => {
		fc.assert(
			fc.property(schedule, instant, fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 0, max: 5000 }), (s, from, a, b) => {
				const once = addBusinessMinutes(s, from, a + b);
				// A schedule open a minute a week runs past the horizon: null, as said.
				fc.pre(once !== null);
				const first = addBusinessMinutes(s, from, a)!;
				expect(addBusinessMinutes(s, first, b)).toBe(once);
				expect(businessMinutesBetween(s, from, once)).toBeCloseTo(a + b, 6);
				if (a + b > 0) expect(isOpen(s, once - 1)).toBe(true);
			}),
			{ numRuns: 150 }
		);
	});

	it('counts calendar minutes when open around the clock, whatever the zone (property)', () => {
		fc.assert(
			fc.property(zones, instant, fc.integer({ min: 0, max: 20_000 }), (timeZone, from, minutes) => {
				const always: BusinessSchedule = { timeZone, week: Array.from({ length: 7 }, () => [[0, 1440]] as [number, number][]), holidays: [] };
				expect(addBusinessMinutes(always, from, minutes)).toBe(from + minutes * 60_000);
				expect(isOpen(always, from)).toBe(true);
			}),
			{ numRuns: 150 }
		);
	});
});
