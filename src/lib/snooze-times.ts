/**
 * The times a ticket can be snoozed until, offered in the ticket header and the bulk bar, and how
 * a snooze is shown. Local time: "tomorrow at 9" means 9 in the morning where the agent is.
 */

export interface SnoozeChoice {
	label: string;
	at: number;
}

const HOUR = 3_600_000;
const MORNING = 9;

/** The next `weekday` (0 Sunday … 6 Saturday) after `now`'s day, at 9:00 local time. */
function nextWeekday(now: Date, weekday: number): Date {
	const day = new Date(now.getFullYear(), now.getMonth(), now.getDate(), MORNING);
	const ahead = (weekday - now.getDay() + 7) % 7 || 7;
	day.setDate(day.getDate() + ahead);
	return day;
}

/** Later today, tomorrow morning, next Monday morning, a week from now: each in the future, none twice. */
export function snoozeChoices(now = new Date()): SnoozeChoice[] {
	const tomorrow = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1, MORNING);
	const choices: SnoozeChoice[] = [
		{ label: 'In 3 hours', at: now.getTime() + 3 * HOUR },
		{ label: `Tomorrow, ${time(tomorrow)}`, at: tomorrow.getTime() },
		{ label: `Monday, ${time(nextWeekday(now, 1))}`, at: nextWeekday(now, 1).getTime() },
		{ label: 'In a week', at: now.getTime() + 7 * 24 * HOUR }
	];
	// On a Sunday, Monday morning is tomorrow morning: offered once.
	return choices.filter((choice, i) => choices.findIndex((c) => c.at === choice.at) === i);
}

function time(date: Date): string {
	return date.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
}

/** "until Tue 9 Dec, 09:00": a snooze as a person reads it. */
export function snoozedUntilText(at: number): string {
	return `until ${new Date(at).toLocaleString(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: 'numeric', minute: '2-digit' })}`;
}

/** A `datetime-local` input's value as a time, or null when it is empty, invalid or not in the future. */
export function pickedTime(value: string, now = Date.now()): number | null {
	const at = new Date(value).getTime();
	return Number.isFinite(at) && at > now ? at : null;
}
