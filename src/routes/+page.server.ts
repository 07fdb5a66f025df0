import { tandem } from '$lib/server/tandem';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals }) => {
	const { tickets } = tandem().tickets.list({ limit: 100 }, locals.principal!);
	return { tickets };
};
