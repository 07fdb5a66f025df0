/** Admin: triggers, automations and business hours. The page writes through the rules API (src/lib/client/rules-admin.svelte.ts). */
import { CHANGE_AUTHORS } from '$lib/api/rules';
import { CHANNELS, PRIORITIES, SATISFACTION_VALUES, STATUSES } from '$lib/ticket/schema';
import { tandem } from '$lib/server/tandem';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async () => {
	const { accounts, rules } = tandem();
	return {
		rules: await rules.store.list(),
		schedules: await rules.store.schedules(),
		groups: (await accounts.listGroups()).map(({ id, name }) => ({ id, name })),
		// Those who may hold tickets: supervisors only watch.
		agents: (await accounts.listUsers()).filter((u) => u.role !== 'supervisor' && !u.disabled).map(({ id, name }) => ({ id, name })),
		choices: { statuses: STATUSES, priorities: PRIORITIES, channels: CHANNELS, authors: CHANGE_AUTHORS, satisfactions: SATISFACTION_VALUES }
	};
};
