import { refuseUnlessAllowed } from '$lib/server/page-access';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = (event) => refuseUnlessAllowed(event);
