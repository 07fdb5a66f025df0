/** What an upload's name and type become, and how a download names and types itself. */
import { describe, expect, it } from 'vitest';
import { mediaType, safeFileName } from '../../src/lib/api/attachments';
import { attachmentSchema } from '../../src/lib/ticket';
import { contentDisposition, servedType } from '../../server/attachments';

describe('upload names and types', () => {
	it('drops directories, control characters and dot-only names', () => {
		expect(safeFileName('../../../etc/passwd')).toBe('passwd');
		expect(safeFileName('C:\\Users\\x\\report.pdf')).toBe('report.pdf');
		expect(safeFileName('in\u0000voice\r\n.pdf')).toBe('invoice.pdf');
		expect(safeFileName(' .. ')).toBe('attachment');
		expect(safeFileName('dir/')).toBe('attachment');
	});

	it('cuts long names within the descriptor limit, never inside a character', () => {
		const name = safeFileName('😀'.repeat(300) + '.pdf');
		expect(name.length).toBeLessThanOrEqual(200);
		expect(name).toBe('😀'.repeat(100));
		expect(attachmentSchema.shape.name.safeParse(name).success).toBe(true);
	});

	it('keeps a media type without parameters, and anything odd becomes octet-stream', () => {
		expect(mediaType('Text/Plain; charset=utf-8')).toBe('text/plain');
		expect(mediaType('image/svg+xml')).toBe('image/svg+xml');
		expect(mediaType('text/html\r\nX-Evil: 1')).toBe('application/octet-stream');
		expect(mediaType('nonsense')).toBe('application/octet-stream');
		expect(mediaType(null)).toBe('application/octet-stream');
	});
});

describe('downloads', () => {
	it('serves only types that cannot run script as themselves', () => {
		for (const type of ['text/html', 'image/svg+xml', 'application/xhtml+xml', 'text/xml', 'application/javascript', 'text/javascript', 'application/x-shockwave-flash'])
			expect(servedType(type), type).toBe('application/octet-stream');
		expect(servedType('application/pdf')).toBe('application/pdf');
		expect(servedType('text/plain; charset=utf-8')).toBe('text/plain; charset=utf-8');
		expect(servedType('image/png')).toBe('image/png');
	});

	it('names the file in an ASCII fallback and exactly in RFC 5987 form, with nothing that could end the header', () => {
		expect(contentDisposition('a "b"\\c.txt')).toBe(`attachment; filename="a _b__c.txt"; filename*=UTF-8''a%20%22b%22%5Cc.txt`);
		expect(contentDisposition("it's (1).pdf")).toBe(`attachment; filename="it's (1).pdf"; filename*=UTF-8''it%27s%20%281%29.pdf`);
		expect(contentDisposition('Straße 😀.pdf')).toBe(`attachment; filename="Stra_e __.pdf"; filename*=UTF-8''Stra%C3%9Fe%20%F0%9F%98%80.pdf`);
	});
});
