import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = ({ locals }) => {
	const p = locals.principal;
	return { user: p?.kind === 'user' ? { id: p.id, name: p.name, email: p.email, role: p.role } : null };
};
