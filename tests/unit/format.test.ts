/**
 * The workspace's words for durations, SLA timers, numbers and chat addresses (src/lib/format.ts):
 * one format everywhere, words never run together, money as apps show it, no raw visitor ids.
 */
import { describe, expect, it } from 'vitest';
import { addressLabel, formatDuration, formatFieldNumber, formatSlaSpan, slaText } from '../../src/lib/format';

describe('formatDuration', () => {
	it('writes seconds, minutes and hours with spaces, as a call card and its entry both do', () => {
		expect(formatDuration(0)).toBe('0 s');
		expect(formatDuration(49)).toBe('49 s');
		expect(formatDuration(60)).toBe('1 min');
		expect(formatDuration(252)).toBe('4 min 12 s');
		expect(formatDuration(3600)).toBe('1 h');
		expect(formatDuration(3900)).toBe('1 h 5 min');
	});

	it('rounds fractions and never goes negative', () => {
		expect(formatDuration(48.6)).toBe('49 s');
		expect(formatDuration(-5)).toBe('0 s');
	});
});

describe('slaText', () => {
	const week = 7 * 24 * 3600_000;

	it('names the target in words, capitalised and separated: "Resolution overdue 7 d"', () => {
		expect(slaText('resolution', -week, true)).toBe('Resolution overdue 7 d');
		expect(slaText('firstReply', -5 * 60_000, true)).toBe('First reply overdue 5 min');
		expect(slaText('nextReply', 2 * 3600_000, true)).toBe('Next reply due in 2 h');
	});

	it('keeps a list cell short and still readable', () => {
		expect(slaText('firstReply', -week, false)).toBe('Overdue 7 d');
		expect(slaText('resolution', 90 * 60_000, false)).toBe('1 h 30 min');
	});

	it('writes spans in minutes, then hours, then days', () => {
		expect(formatSlaSpan(59 * 60_000)).toBe('59 min');
		expect(formatSlaSpan(-47 * 3600_000)).toBe('47 h');
		expect(formatSlaSpan(49 * 3600_000)).toBe('2 d');
	});
});

describe('formatFieldNumber', () => {
	it('shows money when the label names a currency, as the order-lookup app does ($129.50)', () => {
		expect(formatFieldNumber(129.5, 'Total (USD)')).toBe('$129.50');
		expect(formatFieldNumber(84, 'Total (USD)')).toBe('$84.00');
		expect(formatFieldNumber(1234.5, 'Amount (EUR)')).toBe('€1,234.50');
	});

	it('groups other numbers and keeps at most two decimals', () => {
		expect(formatFieldNumber(1234567, 'Seats')).toBe('1,234,567');
		expect(formatFieldNumber(2.345678, 'Weight (kg)')).toBe('2.35');
		expect(formatFieldNumber(-3, 'Balance')).toBe('-3');
	});
});

describe('addressLabel', () => {
	it('never shows a chat visitor id raw', () => {
		const visitorId = '01JEXAMPLE0000000000ABCDEF';
		const label = addressLabel('chat', visitorId);
		expect(label).toBe('Visitor ABCDEF');
		expect(label).not.toContain(visitorId);
	});

	it('leaves other addresses as they are', () => {
		expect(addressLabel('email', 'maggie.chen@example.com')).toBe('maggie.chen@example.com');
		expect(addressLabel('phone', '+15550100')).toBe('+15550100');
	});
});
