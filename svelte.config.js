import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
export default {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({ out: 'build' }),
		// Pages run only their own scripts (SvelteKit adds a nonce or hash for its inline ones).
		// Inline styles stay allowed: Svelte and CodeMirror set style attributes and elements.
		// frame-ancestors is per page and added in src/hooks.server.ts (the chat page is framable).
		csp: {
			mode: 'auto',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				'style-src': ['self', 'unsafe-inline'],
				'img-src': ['self', 'data:', 'blob:'],
				'font-src': ['self', 'data:'],
				'connect-src': ['self'],
				// Apps (context panel): pages under /apps/ or https URLs, http only on this machine.
				'frame-src': ['self', 'https:', 'http://localhost:*', 'http://127.0.0.1:*'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self']
			}
		}
	}
};
