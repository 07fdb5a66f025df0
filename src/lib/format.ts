/**
 * How the workspace writes durations, SLA timers and numbers: one place, so a call card, the
 * call's entry and the records panel agree (and are unit-tested without a browser).
 */

/** 49 → "49 s", 252 → "4 min 12 s", 3900 → "1 h 5 min". Rounds to whole seconds. */
export function formatDuration(seconds: number): string {
	const total = Math.max(0, Math.round(seconds));
	if (total < 60) return `${total} s`;
	if (total < 3600) return total % 60 ? `${Math.floor(total / 60)} min ${total % 60} s` : `${total / 60} min`;
	const minutes = Math.floor((total % 3600) / 60);
	return minutes ? `${Math.floor(total / 3600)} h ${minutes} min` : `${Math.floor(total / 3600)} h`;
}

/** An SLA timer's coarse span (sign ignored): minutes, then hours and minutes, then days. */
export function formatSlaSpan(ms: number): string {
	const minutes = Math.round(Math.abs(ms) / 60_000);
	if (minutes < 60) return `${minutes} min`;
	if (minutes < 48 * 60) return minutes % 60 ? `${Math.floor(minutes / 60)} h ${minutes % 60} min` : `${minutes / 60} h`;
	return `${Math.floor(minutes / 1440)} d`;
}

export const SLA_METRIC_LABELS = { firstReply: 'First reply', nextReply: 'Next reply', resolution: 'Resolution' } as const;
export type SlaMetric = keyof typeof SLA_METRIC_LABELS;

/**
 * An SLA badge's words. Long (the ticket header) names the target: "Resolution overdue 7 d",
 * "First reply due in 2 h"; short (a list cell): "Overdue 7 d", "2 h".
 */
export function slaText(metric: SlaMetric, leftMs: number, long: boolean): string {
	const span = formatSlaSpan(leftMs);
	if (leftMs <= 0) return long ? `${SLA_METRIC_LABELS[metric]} overdue ${span}` : `Overdue ${span}`;
	return long ? `${SLA_METRIC_LABELS[metric]} due in ${span}` : span;
}

/** A field label naming its currency, as in "Total (USD)". */
const CURRENCY_IN_LABEL = /\(([A-Z]{3})\)\s*$/;

/**
 * A number field's value as people read it: money when the label names a currency
 * ("Total (USD)": 129.5 → "$129.50", as apps show it), else grouped with at most two decimals.
 */
export function formatFieldNumber(value: number, label: string): string {
	const currency = CURRENCY_IN_LABEL.exec(label)?.[1];
	if (currency) return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(value);
	return new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(value);
}

/**
 * An address as people read it. A chat address is the visitor's 26-character id, which means
 * nothing to anyone: it reads as "Visitor" and its last characters ("Visitor 3F9KQ2").
 */
export function addressLabel(channel: string, address: string): string {
	return channel === 'chat' ? `Visitor ${address.slice(-6)}` : address;
}

/** A file size for people: `812 B`, `48 KB`, `2.4 MB`. */
export function formatBytes(bytes: number): string {
	if (bytes < 1024) return `${bytes} B`;
	if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
	const mb = bytes / (1024 * 1024);
	return `${mb < 10 ? mb.toFixed(1) : Math.round(mb)} MB`;
}
