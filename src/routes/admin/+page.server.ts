import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import { CUSTOMER_CHANNELS } from '$lib/ticket/schema';
import { tandem } from '$lib/server/tandem';
import type { Actions, PageServerLoad } from './$types';

const ROLES = ['admin', 'supervisor', 'agent'] as const;
const groupNames = z
	.string()
	.transform((v) => v.split(',').map((g) => g.trim()).filter(Boolean))
	.pipe(z.array(z.string().min(1).max(80)).max(50));

const schemas = {
	createUser: z.object({
		email: z.email(),
		name: z.string().trim().min(1).max(200),
		role: z.enum(ROLES),
		password: z.string().min(1),
		groups: groupNames.default([])
	}),
	setDisabled: z.object({ userId: z.string().min(1), disabled: z.enum(['true', 'false']).transform((v) => v === 'true') }),
	resetPassword: z.object({ userId: z.string().min(1), password: z.string().min(1) }),
	setGroups: z.object({ userId: z.string().min(1), groups: groupNames }),
	createGroup: z.object({ name: z.string().trim().min(1).max(80) }),
	createToken: z.object({ name: z.string().trim().min(1).max(120), channels: z.array(z.enum(CUSTOMER_CHANNELS)).min(1, 'choose at least one channel') }),
	revokeToken: z.object({ tokenId: z.string().min(1) })
};

export const load: PageServerLoad = () => {
	const { accounts, auth } = tandem();
	const groups = accounts.listGroups();
	return {
		users: accounts.listUsers(),
		groups,
		tokens: auth.tokens.list(),
		channels: CUSTOMER_CHANNELS
	};
};

async function read<T extends z.ZodType>(request: Request, schema: T, action: string) {
	const data = await request.formData();
	const raw: Record<string, unknown> = Object.fromEntries(data);
	if (data.has('channels')) raw.channels = data.getAll('channels');
	else if (action === 'createToken') raw.channels = [];
	const parsed = schema.safeParse(raw);
	if (parsed.success) return { ok: true as const, value: parsed.data as z.infer<T> };
	const issue = parsed.error.issues[0];
	return { ok: false as const, failure: fail(400, { action, message: `${issue.path.join('.') || 'form'}: ${issue.message}` }) };
}

const actor = (locals: App.Locals) => (locals.principal?.kind === 'user' ? `user:${locals.principal.id}` : 'system');

export const actions: Actions = {
	createUser: async ({ request }) => {
		const input = await read(request, schemas.createUser, 'createUser');
		if (!input.ok) return input.failure;
		try {
			const user = await tandem().accounts.createUser(input.value);
			return { action: 'createUser', notice: `Created ${user.email}.` };
		} catch (error) {
			return fail(400, { action: 'createUser', message: (error as Error).message });
		}
	},
	setDisabled: async ({ request, locals }) => {
		const input = await read(request, schemas.setDisabled, 'setDisabled');
		if (!input.ok) return input.failure;
		if (locals.principal?.kind === 'user' && input.value.userId === locals.principal.id && input.value.disabled) {
			return fail(400, { action: 'setDisabled', message: 'You cannot disable yourself.' });
		}
		tandem().auth.setDisabled(input.value.userId, input.value.disabled, actor(locals));
		return { action: 'setDisabled', notice: input.value.disabled ? 'User disabled; their sessions ended.' : 'User enabled.' };
	},
	resetPassword: async ({ request, locals }) => {
		const input = await read(request, schemas.resetPassword, 'resetPassword');
		if (!input.ok) return input.failure;
		try {
			await tandem().auth.resetPassword(input.value.userId, input.value.password, actor(locals));
			return { action: 'resetPassword', notice: 'Password reset; the user was signed out everywhere.' };
		} catch (error) {
			return fail(400, { action: 'resetPassword', message: (error as Error).message });
		}
	},
	setGroups: async ({ request }) => {
		const input = await read(request, schemas.setGroups, 'setGroups');
		if (!input.ok) return input.failure;
		tandem().accounts.setGroups(input.value.userId, input.value.groups);
		return { action: 'setGroups', notice: 'Groups saved.' };
	},
	createGroup: async ({ request }) => {
		const input = await read(request, schemas.createGroup, 'createGroup');
		if (!input.ok) return input.failure;
		tandem().accounts.ensureGroup(input.value.name);
		return { action: 'createGroup', notice: `Group ${input.value.name} ready.` };
	},
	createToken: async ({ request, locals }) => {
		const input = await read(request, schemas.createToken, 'createToken');
		if (!input.ok) return input.failure;
		const created = tandem().auth.tokens.create(input.value.name, input.value.channels, actor(locals));
		return { action: 'createToken', notice: 'Token created. Copy it now: it will not be shown again.', token: created.token };
	},
	revokeToken: async ({ request, locals }) => {
		const input = await read(request, schemas.revokeToken, 'revokeToken');
		if (!input.ok) return input.failure;
		const revoked = tandem().auth.tokens.revoke(input.value.tokenId, actor(locals));
		return revoked ? { action: 'revokeToken', notice: 'Token revoked.' } : fail(404, { action: 'revokeToken', message: 'No live token with that id.' });
	}
};
