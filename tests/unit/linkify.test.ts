/**
 * Links in entry text (src/lib/linkify.ts): only http(s) and mailto become links, the text is never
 * changed or lost, sentence punctuation stays outside the link, and any input is safe to cut.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FOLD_ABOVE_LINES, isLongText, linkify, MAX_LINK_LENGTH, type TextSegment } from '../../src/lib/linkify';

const links = (text: string) => linkify(text).filter((s): s is Extract<TextSegment, { kind: 'link' }> => s.kind === 'link');
const joined = (segments: TextSegment[]) => segments.map((s) => s.text).join('');

describe('linkify', () => {
	it('links http, https, www and email addresses in prose', () => {
		expect(linkify('See https://example.com/a?b=1#c now')).toEqual([
			{ kind: 'text', text: 'See ' },
			{ kind: 'link', text: 'https://example.com/a?b=1#c', href: 'https://example.com/a?b=1#c' },
			{ kind: 'text', text: ' now' }
		]);
		expect(links('old http://example.org')[0].href).toBe('http://example.org/');
		expect(links('go to www.example.com')[0]).toEqual({ kind: 'link', text: 'www.example.com', href: 'https://www.example.com/' });
		expect(links('write to jo.smith+help@example.co.uk please')[0]).toEqual({
			kind: 'link',
			text: 'jo.smith+help@example.co.uk',
			href: 'mailto:jo.smith+help@example.co.uk'
		});
		expect(links('mailto:help@example.com')[0].href).toBe('mailto:help@example.com');
	});

	it('leaves trailing sentence punctuation and unmatched closing brackets outside the link', () => {
		expect(links('Read https://example.com/guide.')[0].text).toBe('https://example.com/guide');
		expect(links('(see https://example.com/x)')[0].text).toBe('https://example.com/x');
		expect(links('Is it https://example.com/?!')[0].text).toBe('https://example.com/');
		expect(links('“https://example.com/a”,')[0].text).toBe('https://example.com/a');
		expect(links('https://en.wikipedia.org/wiki/Tent_(camping).')[0].text).toBe('https://en.wikipedia.org/wiki/Tent_(camping)');
		expect(links('mail me: help@example.com.')[0].text).toBe('help@example.com');
	});

	it('never links other schemes, and does not split words to find a link', () => {
		for (const text of [
			'javascript:alert(1)',
			'JaVaScRiPt:alert(document.cookie)',
			'data:text/html,<script>alert(1)</script>',
			'vbscript:msgbox',
			'file:///etc/passwd',
			'ftp://example.com',
			'xhttps://example.com',
			'https://',
			'http://.',
			'https://-',
			'no link here'
		]) {
			expect(links(text), text).toEqual([]);
		}
		// An "http" URL that hides another scheme is still only ever an http(s) link.
		for (const link of links('https://example.com/?next=javascript:alert(1) http://a.example/"onmouseover="x')) {
			expect(link.href).toMatch(/^https?:\/\//);
			expect(link.href).not.toMatch(/["<>\s]/);
		}
	});

	it('keeps markup as text: quotes and angle brackets end a link and stay in the text', () => {
		const segments = linkify('<a href="https://evil.example/">https://evil.example/<img src=x onerror=alert(1)></a>');
		expect(joined(segments)).toBe('<a href="https://evil.example/">https://evil.example/<img src=x onerror=alert(1)></a>');
		expect(links('<a href="https://evil.example/">x</a>').map((l) => l.text)).toEqual(['https://evil.example/']);
	});

	it('leaves a link longer than the cap as text', () => {
		const long = `https://example.com/${'a'.repeat(MAX_LINK_LENGTH)}`;
		expect(links(long)).toEqual([]);
		expect(joined(linkify(long))).toBe(long);
	});

	it('cuts a 64 KiB adversarial body quickly', () => {
		const bodies = ['a@b.' + 'cc.'.repeat(20_000), 'https://' + 'a.'.repeat(30_000), '.@'.repeat(30_000), 'x'.repeat(64 * 1024)];
		for (const body of bodies) {
			const started = performance.now();
			expect(joined(linkify(body))).toBe(body);
			expect(performance.now() - started).toBeLessThan(500);
		}
	});

	it('property: joined segments are the input; links are http(s) or mailto, whole words, without trailing punctuation', () => {
		const pieces = fc.oneof(
			fc.string({ unit: 'grapheme', maxLength: 12 }),
			fc.constantFrom(' ', '\n', '.', ',', ')', '(', '"', '<', '>', 'javascript:', 'mailto:', 'https://', 'http://', 'www.', '@', 'example.com', '/path?q=1'),
			fc.webUrl({ withQueryParameters: true, withFragments: true }),
			fc.emailAddress()
		);
		fc.assert(
			fc.property(fc.array(pieces, { maxLength: 12 }).map((parts) => parts.join('')), (text) => {
				const segments = linkify(text);
				expect(joined(segments)).toBe(text);
				for (const [i, segment] of segments.entries()) {
					expect(segment.text.length).toBeGreaterThan(0);
					if (segment.kind !== 'link') continue;
					expect(new URL(segment.href).protocol).toMatch(/^(https?|mailto):$/);
					expect(segment.text).not.toMatch(/[\s<>"]/);
					expect(segment.text).not.toMatch(/[.,;:!?]$/);
					// Text segments and links alternate: a link never directly follows another.
					expect(segments[i - 1]?.kind).not.toBe('link');
				}
			}),
			{ numRuns: 500 }
		);
	});

	it('property: a URL written in a sentence is linked whole', () => {
		fc.assert(
			fc.property(fc.webUrl({ validSchemes: ['https'] }), fc.constantFrom('.', ',', '!', '?', ''), (url, stop) => {
				fc.pre(!/[.,;:!?'"*_~)]$/.test(url) && !/["<>`]/.test(url));
				const found = links(`Please see ${url}${stop} Thanks`);
				expect(found.map((l) => l.text)).toEqual([url]);
			}),
			{ numRuns: 300 }
		);
	});
});

describe('isLongText', () => {
	it('folds text of many lines or one long wrapped paragraph, not a short message', () => {
		expect(isLongText('Hello,\n\nthanks!')).toBe(false);
		expect(isLongText(Array.from({ length: FOLD_ABOVE_LINES }, (_, i) => `line ${i}`).join('\n'))).toBe(false);
		expect(isLongText(Array.from({ length: FOLD_ABOVE_LINES + 1 }, (_, i) => `line ${i}`).join('\n'))).toBe(true);
		expect(isLongText('word '.repeat(400))).toBe(true);
		expect(isLongText('')).toBe(false);
	});
});
