import { z } from 'zod';
import { tandem } from '$lib/server/tandem';
import type { PageServerLoad } from './$types';

const query = z.object({ q: z.string().trim().max(200).catch('') });

/** The public help centre: published articles by section, or the ones matching `q`. */
export const load: PageServerLoad = async ({ url }) => {
	const { help } = tandem();
	const { q } = query.parse({ q: url.searchParams.get('q') ?? '' });
	const sections = new Map<string, { slug: string; title: string }[]>();
	for (const { section, slug, title } of await help.list()) sections.set(section, [...(sections.get(section) ?? []), { slug, title }]);
	return {
		q,
		results: q ? (await help.search(q, { limit: 20 })).map(({ slug, title, section, titleHtml, snippetHtml }) => ({ slug, title, section, titleHtml, snippetHtml })) : null,
		sections: [...sections].map(([name, articles]) => ({ name, articles }))
	};
};
