/**
 * Business hours: a weekly schedule of open intervals in a time zone, with closed days (holidays).
 * Pure time maths over `Intl`, so daylight saving time falls where the zone's rules put it: a
 * day's 9:00–17:00 is eight hours on the days the clocks change too, and a local time the change
 * skips counts from the first instant after it. No schedule (null) means open around the clock.
 */

export interface BusinessSchedule {
	/** An IANA time zone, e.g. Europe/Berlin. */
	timeZone: string;
	/** Seven lists, Monday first, of [start, end) minutes of the local day (0–1440), sorted, not overlapping. */
	week: [number, number][][];
	/** Closed days, YYYY-MM-DD in the schedule's time zone. */
	holidays: string[];
}

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

const MINUTE = 60_000;
const DAY_MINUTES = 1440;
/** How far ahead an open minute is looked for: a schedule closed this long is never open. */
const HORIZON_DAYS = 800;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
	let format = formatters.get(timeZone);
	if (!format) {
		format = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
		formatters.set(timeZone, format);
	}
	return format;
}

/** Whether `timeZone` is one this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
	try {
		formatter(timeZone);
		return true;
	} catch {
		return false;
	}
}

/** A calendar day, as Date.UTC counts it (months from 1). */
interface LocalDay {
	year: number;
	month: number;
	day: number;
}

/** The zone's wall clock at `at`: its day and the milliseconds since the day's midnight. */
function wallClock(at: number, timeZone: string): LocalDay & { ms: number } {
	const parts: Record<string, number> = {};
	for (const part of formatter(timeZone).formatToParts(at)) if (part.type !== 'literal') parts[part.type] = Number(part.value);
	const ms = ((parts.hour! * 60 + parts.minute!) * 60 + parts.second!) * 1000 + (((at % 1000) + 1000) % 1000);
	return { year: parts.year!, month: parts.month!, day: parts.day!, ms };
}

/** How far the zone's clock is ahead of UTC at `at`, in ms. */
function offsetAt(at: number, timeZone: string): number {
	const wall = wallClock(at, timeZone);
	return Date.UTC(wall.year, wall.month - 1, wall.day) + wall.ms - at;
}

/** The instant the zone's clock shows `minute` on `day`; in a gap the clocks skip, the first instant after it. */
function instantOf(day: LocalDay, minute: number, timeZone: string): number {
	const asUtc = Date.UTC(day.year, day.month - 1, day.day) + minute * MINUTE;
	const before = asUtc - offsetAt(asUtc, timeZone);
	const offset = offsetAt(before, timeZone);
	if (asUtc - offset === before) return before;
	const after = asUtc - offset;
	return offsetAt(after, timeZone) === offset ? after : Math.max(before, after);
}

const nextDay = (day: LocalDay, by = 1): LocalDay => {
	const d = new Date(Date.UTC(day.year, day.month - 1, day.day + by));
	return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
};

const dateKey = (day: LocalDay) => `${String(day.year).padStart(4, '0')}-${String(day.month).padStart(2, '0')}-${String(day.day).padStart(2, '0')}`;

/** Monday 0 … Sunday 6. */
const weekdayOf = (day: LocalDay) => (new Date(Date.UTC(day.year, day.month - 1, day.day)).getUTCDay() + 6) % 7;

/** The open intervals of one local day, as instants. */
function openOn(schedule: BusinessSchedule, day: LocalDay): [number, number][] {
	if (schedule.holidays.includes(dateKey(day))) return [];
	return (schedule.week[weekdayOf(day)] ?? []).map(([start, end]) => [instantOf(day, start, schedule.timeZone), instantOf(day, end, schedule.timeZone)]);
}

/**
 * The open intervals from the local day of `from` on, day by day, for at most `days` days. An
 * interval of the day before may reach into `from`'s day only as its own day's, so the day before
 * is looked at too.
 */
function* openIntervals(schedule: BusinessSchedule, from: number, days = HORIZON_DAYS): Generator<[number, number]> {
	const first = wallClock(from, schedule.timeZone);
	let day = nextDay(first, -1);
	for (let i = 0; i <= days; i++, day = nextDay(day)) yield* openOn(schedule, day);
}

/** Whether `at` lies within business hours. */
export function isOpen(schedule: BusinessSchedule | null, at: number): boolean {
	if (!schedule) return true;
	for (const [start, end] of openIntervals(schedule, at, 1)) if (start <= at && at < end) return true;
	return false;
}

/**
 * The instant `minutes` business minutes after `from` (from itself when 0); null when the
 * schedule is never open within the horizon.
 */
export function addBusinessMinutes(schedule: BusinessSchedule | null, from: number, minutes: number): number | null {
	if (!schedule) return from + minutes * MINUTE;
	let left = minutes * MINUTE;
	if (left <= 0) return from;
	for (const [start, end] of openIntervals(schedule, from)) {
		if (end <= from) continue;
		const begin = Math.max(start, from);
		if (left <= end - begin) return begin + left;
		left -= end - begin;
	}
	return null;
}

/** Business minutes (fractional) from `from` to `to`; 0 when `to` is not after `from`. */
export function businessMinutesBetween(schedule: BusinessSchedule | null, from: number, to: number): number {
	if (to <= from) return 0;
	if (!schedule) return (to - from) / MINUTE;
	const days = Math.ceil((to - from) / (DAY_MINUTES * MINUTE)) + 2;
	let open = 0;
	for (const [start, end] of openIntervals(schedule, from, days)) {
		if (start >= to) break;
		open += Math.max(0, Math.min(end, to) - Math.max(start, from));
	}
	return open / MINUTE;
}

/** Mon–Fri 9:00–17:00 in `timeZone`, no holidays: the schedule a new group starts from. */
export function officeHours(timeZone = 'UTC'): BusinessSchedule {
	const day: [number, number][] = [[9 * 60, 17 * 60]];
	return { timeZone, week: [day, day, day, day, day, [], []], holidays: [] };
}

/** "09:00" for minute 540. */
export const formatMinute = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/** 540 for "09:00", 1440 for "24:00"; null for anything else. */
export function parseMinute(text: string): number | null {
	const match = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
	if (!match) return null;
	const minute = Number(match[1]) * 60 + Number(match[2]);
	return Number(match[2]) < 60 && minute <= DAY_MINUTES ? minute : null;
}
