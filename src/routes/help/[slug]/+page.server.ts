import { error } from '@sveltejs/kit';
import { tandem } from '$lib/server/tandem';
import { renderMarkdown } from '../../../../server/markdown';
import type { PageServerLoad } from './$types';

/** A published article, its Markdown rendered and sanitised on the server. Drafts are not found. */
export const load: PageServerLoad = async ({ params }) => {
	const article = await tandem().help.published(params.slug);
	if (!article) error(404, 'There is no such article.');
	return {
		article: { slug: article.slug, title: article.title, section: article.section, tags: article.tags, updatedAt: article.updatedAt },
		html: renderMarkdown(article.body)
	};
};
