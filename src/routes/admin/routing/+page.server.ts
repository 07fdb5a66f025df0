/**
 * Admin: routing. Offer timeout, declining and default capacities; each agent's capacities and
 * skills; custom statuses; SLA policies. The forms are shaped into the routing API's own schemas,
 * so a form and an API call are checked alike; fields are named by their path in those schemas
 * (`capacities.chat`, `urgent.chat.firstReplyMinutes`) so an error names the field typed into.
 */
import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import { CHANNEL_CLASSES, customStatusSchema, routingSettingsSchema, slaPolicySchema, userRoutingSchema } from '$lib/api/routing';
import { PRIORITIES } from '$lib/ticket/schema';
import { formActor, formChange, parseForm, readForm } from '$lib/server/forms';
import { tandem } from '$lib/server/tandem';
import type { Actions, PageServerLoad } from './$types';

/** A number input as typed: a whole number, or blank (null: the default, or no target). */
const wholeOrBlank = z
	.string()
	.trim()
	.regex(/^\d*$/, 'enter a whole number')
	.transform((value) => (value === '' ? null : Number(value)));
const whole = wholeOrBlank.pipe(z.number({ error: 'enter a whole number' }));
const perChannel = <T extends z.ZodType>(field: T) => z.object({ messaging: field, chat: field, talk: field });
// A checkbox is sent only when ticked.
const settingsForm = z
	.object({ offerTimeoutSeconds: whole, declineAllowed: z.string().optional(), capacities: perChannel(whole) })
	.transform(({ declineAllowed, ...rest }) => ({ ...rest, declineAllowed: declineAllowed === 'on' }) as z.input<typeof routingSettingsSchema>)
	.pipe(routingSettingsSchema);

const agentForm = z
	.object({
		userId: z.string().min(1),
		capacities: perChannel(wholeOrBlank),
		skills: z.string().transform((value) => [...new Set(value.split(',').map((skill) => skill.trim()).filter(Boolean))])
	})
	.transform(({ userId, ...input }) => ({ userId, input: input as z.input<typeof userRoutingSchema> }))
	.pipe(z.object({ userId: z.string(), input: userRoutingSchema }));

/** One cell of the SLA grid, checked as the policy it becomes. */
const slaCell = (priority: (typeof PRIORITIES)[number], channel: (typeof CHANNEL_CLASSES)[number]) =>
	z
		.object({ firstReplyMinutes: wholeOrBlank, nextReplyMinutes: wholeOrBlank, resolutionMinutes: wholeOrBlank })
		.transform((minutes) => ({ priority, channel, ...minutes }))
		.pipe(slaPolicySchema);
const slaForm = z
	.object(Object.fromEntries(PRIORITIES.map((priority) => [priority, z.object(Object.fromEntries(CHANNEL_CLASSES.map((channel) => [channel, slaCell(priority, channel)])))])))
	.transform((grid) => Object.values(grid).flatMap((row) => Object.values(row)));

const statusId = z.object({ statusId: z.string().min(1) });

export const load: PageServerLoad = async () => {
	const { accounts, routing } = tandem();
	const groupNames = new Map((await accounts.listGroups()).map((g) => [g.id, g.name]));
	const own = await routing.settings.agents();
	return {
		settings: await routing.settings.get(),
		// Those who take work: supervisors only watch it.
		agents: (await accounts.listUsers())
			.filter((user) => (user.role === 'agent' || user.role === 'admin') && !user.disabled)
			.map((user) => ({
				id: user.id,
				name: user.name,
				email: user.email,
				groups: user.groupIds.map((id) => groupNames.get(id) ?? id),
				...(own.get(user.id) ?? { capacities: {}, skills: [] })
			})),
		statuses: await routing.presence.statuses(),
		policies: await routing.sla.policies(),
		priorities: PRIORITIES,
		channels: CHANNEL_CLASSES
	};
};

/** Form fields named by path (`capacities.chat`) as nested objects; null prototypes, so no field name reaches Object's. */
function nest(data: FormData): Record<string, unknown> {
	const root = Object.create(null) as Record<string, unknown>;
	for (const [key, value] of data) {
		const parts = key.split('.');
		let node = root;
		for (const part of parts.slice(0, -1)) {
			if (typeof node[part] !== 'object') node[part] = Object.create(null);
			node = node[part] as Record<string, unknown>;
		}
		node[parts.at(-1)!] = value;
	}
	return root;
}

async function read<T extends z.ZodType>(request: Request, schema: T, action: string) {
	return parseForm(schema, nest(await readForm(request)), action);
}

/** Runs a change; the services' errors (a status named twice, one gone meanwhile) become the form's message. */
const attempt = (action: string, notice: string, change: () => unknown) => formChange(action, async () => void (await change()), { notice });

const actor = formActor;

export const actions: Actions = {
	saveSettings: async ({ request, locals }) => {
		const form = await read(request, settingsForm, 'saveSettings');
		if (!form.ok) return form.failure;
		const { routing, events } = tandem();
		return attempt('saveSettings', 'Routing settings saved.', async () => {
			await routing.settings.update(form.value);
			await events.record({ actor: actor(locals), type: 'routing.settings.changed', data: form.value });
			// New capacities may let waiting work be offered.
			await routing.router.dispatch();
		});
	},
	saveAgent: async ({ request, locals }) => {
		const form = await read(request, agentForm, 'saveAgent');
		if (!form.ok) return form.failure;
		const { userId, input } = form.value;
		const { accounts, routing, events } = tandem();
		const user = await accounts.get(userId);
		if (!user) return fail(404, { action: 'saveAgent', message: 'userId: no such user' });
		return attempt('saveAgent', `${user.name}’s capacities and skills saved.`, async () => {
			await routing.settings.setAgent(userId, input);
			await events.record({ userId, actor: actor(locals), type: 'routing.agent.changed', data: input });
			await routing.router.dispatch();
		});
	},
	addStatus: async ({ request, locals }) => {
		const form = await read(request, customStatusSchema, 'addStatus');
		if (!form.ok) return form.failure;
		const { name, mapsTo } = form.value;
		return attempt('addStatus', `Status “${name}” added.`, () => tandem().routing.presence.addStatus(name, mapsTo, actor(locals)));
	},
	deleteStatus: async ({ request, locals }) => {
		const form = await read(request, statusId, 'deleteStatus');
		if (!form.ok) return form.failure;
		return attempt('deleteStatus', 'Status deleted; agents who had it chosen got the status it counted as.', () =>
			tandem().routing.presence.removeStatus(form.value.statusId, actor(locals))
		);
	},
	saveSla: async ({ request, locals }) => {
		const form = await read(request, slaForm, 'saveSla');
		if (!form.ok) return form.failure;
		return attempt('saveSla', 'SLA policies saved.', () => tandem().routing.sla.setPolicies(form.value, actor(locals)));
	}
};
