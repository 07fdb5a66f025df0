/** The bench's tables on stdout: numbers as people read them, columns aligned. */

export type Status = 'met' | 'MISSED' | 'no data' | '';

/** A number in a table cell: thousands grouped, three significant digits or so (counts whole); — for none. */
export function fmt(value: number | null): string {
	if (value === null) return '—';
	if (Number.isNaN(value)) return 'n/a';
	const abs = Math.abs(value);
	if (abs >= 1000 || Number.isInteger(value)) return Math.round(value).toLocaleString('en-US');
	if (abs >= 100) return value.toFixed(0);
	if (abs >= 10) return value.toFixed(1);
	return value.toFixed(abs >= 1 ? 2 : 3);
}

/** `header` and `cells` as aligned columns under a rule; the columns in `numeric` right-aligned. */
export function renderColumns(header: string[], cells: string[][], numeric: Set<number>): string {
	const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
	const line = (c: string[]) => c.map((v, i) => (numeric.has(i) ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
	return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
