/**
 * The README's nginx configuration for a cluster is what `npm run cluster` runs
 * (scripts/local-servers/nginx.ts), for the README's three nodes: the two cannot drift apart.
 */
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nginxSite } from '../../scripts/local-servers/nginx';

describe('README, "Running a cluster"', () => {
	it('shows the nginx configuration that npm run cluster generates', () => {
		const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
		const blocks = [...readme.matchAll(/^```nginx\n([\s\S]*?)^```$/gm)].map(([, block]) => block);
		expect(blocks).toHaveLength(1);
		expect(blocks[0]).toBe(nginxSite('80', ['10.0.0.1:3000', '10.0.0.2:3000', '10.0.0.3:3000']));
	});
});
