import { fail } from '@sveltejs/kit';
import { z } from 'zod';
import { CUSTOMER_CHANNELS, PRIORITIES, STATUSES } from '$lib/ticket/schema';
import { macroInputSchema, talkNumberInputSchema } from '$lib/api/schemas';
import { IMAP_AFTER_FETCH, IMAP_AUTH_KINDS, IMAP_TLS_MODES, imapMailboxInputSchema } from '$lib/api/imap';
import { CHANNEL_KINDS } from '../../../server/channels/webhooks';
import { MAX_SIGNATURE_LENGTH } from '../../../server/channels/support-addresses';

import { formActor, formChange, parseForm, readForm } from '$lib/server/forms';
import { tandem } from '$lib/server/tandem';
import type { Actions, PageServerLoad } from './$types';

const ROLES = ['admin', 'supervisor', 'agent'] as const;
/** Comma-separated names as typed into one input. */
const commaList = (value: string) => value.split(',').map((name) => name.trim()).filter(Boolean);
const groupNames = z.string().transform(commaList).pipe(z.array(z.string().min(1).max(80)).max(50));
/** A select left on "—" leaves the field unset. */
const choice = z.string().transform((value) => value || undefined);

/**
 * The macro form's fields, shaped into a macro and checked by the API's own schema (the pipe
 * checks the values the cast only names).
 */
const macroForm = z
	.object({
		title: z.string(),
		body: z.string().default(''),
		status: choice.optional(),
		priority: choice.optional(),
		visibility: choice.optional(),
		tags: z.string().default('')
	})
	.transform(({ title, body, status, priority, visibility, tags }) => {
		const addTags = commaList(tags);
		const actions = { status, priority, visibility, addTags: addTags.length ? addTags : undefined };
		return { title, body, actions } as z.input<typeof macroInputSchema>;
	})
	.pipe(macroInputSchema);
const macroId = z.object({ macroId: z.string().min(1) });

/** A channel's outbound URL: an http(s) URL, or left empty for none. */
const outboundUrl = z
	.string()
	.trim()
	.default('')
	.transform((value) => value || null)
	.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).nullable());
const channelName = z.string().trim().min(1).max(120);
const channelId = z.object({ channelId: z.string().min(1) });

/** A Talk number's form: the group select left on "—" means no group (calls ring everyone). */
const talkNumberForm = z
	.object({ number: z.string(), label: z.string(), groupId: z.string().default('') })
	.transform(({ groupId, ...rest }) => ({ ...rest, groupId: groupId || null }))
	.pipe(talkNumberInputSchema);

/**
 * A support address's signature: plain text of at most 2,000 characters, line breaks kept (as
 * LF), no other control characters; empty means none.
 */
const signatureText = z
	.string()
	.transform((value) => value.replace(/\r\n?/g, '\n').trim())
	.pipe(
		z
			.string()
			.max(MAX_SIGNATURE_LENGTH, `at most ${MAX_SIGNATURE_LENGTH} characters`)
			.regex(/^[^\u0000-\u0008\u000b-\u001f\u007f]*$/, 'no control characters')
	)
	.transform((value) => value || null);

/** Fields left empty are unset: an empty password keeps the saved one. */
const withoutBlanks = (raw: unknown) => Object.fromEntries(Object.entries(raw as Record<string, unknown>).filter(([, value]) => value !== ''));

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
	revokeToken: z.object({ tokenId: z.string().min(1) }),
	createMacro: macroForm,
	updateMacro: macroId.and(macroForm),
	deleteMacro: macroId,
	createChannel: z.object({ kind: z.enum(CHANNEL_KINDS), name: channelName, outboundUrl }),
	updateChannel: channelId.extend({ name: channelName, outboundUrl }),
	rotateChannelSecret: channelId,
	addSupportAddress: z.object({ address: z.email(), name: z.string().trim().min(1).max(120), groupId: choice.optional() }),
	updateSupportAddress: z.object({ address: z.string().min(1), name: z.string().trim().min(1).max(120), groupId: choice.optional() }),
	removeSupportAddress: z.object({ address: z.string().min(1) }),
	setSupportAddressSignature: z.object({ address: z.string().min(1), signature: signatureText }),
	saveImapMailbox: z.preprocess(withoutBlanks, z.object({ address: z.string().min(1) }).and(imapMailboxInputSchema)),
	removeImapMailbox: z.object({ address: z.string().min(1) }),
	/** The channels whose solved tickets are surveyed: the boxes ticked (none: no survey anywhere). */
	setSurveyChannels: z.object({ channels: z.array(z.enum(CUSTOMER_CHANNELS)).default([]) }),
	createTalkNumber: talkNumberForm,
	updateTalkNumber: z.object({ talkNumberId: z.string().min(1) }).and(talkNumberForm)
};

export const load: PageServerLoad = async ({ url }) => {
	const { accounts, auth, macros, channels, supportAddresses, imapMailboxes, talkNumbers, surveys } = tandem();
	const groups = await accounts.listGroups();
	return {
		users: await accounts.listUsers(),
		groups,
		tokens: await auth.tokens.list(),
		channels: CUSTOMER_CHANNELS,
		macros: await macros.list(),
		statuses: STATUSES,
		priorities: PRIORITIES,
		webhookChannels: await channels.list(),
		talkNumbers: await talkNumbers.list(),
		channelKinds: CHANNEL_KINDS,
		/** Where providers send webhooks: `<origin>/api/v1/channels/<id>/webhook`. */
		origin: url.origin,
		supportAddresses: await supportAddresses.list(),
		maxSignatureLength: MAX_SIGNATURE_LENGTH,
		/** Without their passwords or tokens: those never leave the server. */
		imapMailboxes: await imapMailboxes.list(),
		imapChoices: { tls: IMAP_TLS_MODES, auth: IMAP_AUTH_KINDS, afterFetch: IMAP_AFTER_FETCH },
		surveySettings: await surveys.settings()
	};
};

async function read<T extends z.ZodType>(request: Request, schema: T, action: string) {
	const data = await readForm(request);
	const raw: Record<string, unknown> = Object.fromEntries(data);
	if (data.has('channels')) raw.channels = data.getAll('channels');
	else if (action === 'createToken') raw.channels = [];
	return parseForm(schema, raw, action);
}

const actor = formActor;
const NO_CHANNEL = 'No channel with that id.';
const NO_MACRO = 'No macro with that id.';

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
		await tandem().auth.setDisabled(input.value.userId, input.value.disabled, actor(locals));
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
		await tandem().accounts.setGroups(input.value.userId, input.value.groups);
		return { action: 'setGroups', notice: 'Groups saved.' };
	},
	createGroup: async ({ request }) => {
		const input = await read(request, schemas.createGroup, 'createGroup');
		if (!input.ok) return input.failure;
		await tandem().accounts.ensureGroup(input.value.name);
		return { action: 'createGroup', notice: `Group ${input.value.name} ready.` };
	},
	createToken: async ({ request, locals }) => {
		const input = await read(request, schemas.createToken, 'createToken');
		if (!input.ok) return input.failure;
		const created = await tandem().auth.tokens.create(input.value.name, input.value.channels, actor(locals));
		return { action: 'createToken', notice: 'Token created. Copy it now: it will not be shown again.', token: created.token };
	},
	revokeToken: async ({ request, locals }) => {
		const input = await read(request, schemas.revokeToken, 'revokeToken');
		if (!input.ok) return input.failure;
		const revoked = await tandem().auth.tokens.revoke(input.value.tokenId, actor(locals));
		return revoked ? { action: 'revokeToken', notice: 'Token revoked.' } : fail(404, { action: 'revokeToken', message: 'No live token with that id.' });
	},
	setSurveyChannels: async ({ request, locals }) => {
		const input = await read(request, schemas.setSurveyChannels, 'setSurveyChannels');
		if (!input.ok) return input.failure;
		const surveyed = Object.fromEntries(CUSTOMER_CHANNELS.map((channel) => [channel, input.value.channels.includes(channel)]));
		await tandem().surveys.updateSettings(surveyed, actor(locals));
		return { action: 'setSurveyChannels', notice: 'Satisfaction surveys saved: they apply to tickets solved from now on.' };
	},
	createMacro: async ({ request, locals }) => {
		const input = await read(request, schemas.createMacro, 'createMacro');
		if (!input.ok) return input.failure;
		const macro = await tandem().macros.create(input.value, locals.principal!);
		return { action: 'createMacro', notice: `Macro “${macro.title}” created.` };
	},
	updateMacro: async ({ request, locals }) => {
		const input = await read(request, schemas.updateMacro, 'updateMacro');
		if (!input.ok) return input.failure;
		return formChange('updateMacro', async () => void (await tandem().macros.update(input.value.macroId, input.value, locals.principal!)), { notice: 'Macro saved.', notFound: NO_MACRO });
	},
	deleteMacro: async ({ request, locals }) => {
		const input = await read(request, schemas.deleteMacro, 'deleteMacro');
		if (!input.ok) return input.failure;
		return formChange('deleteMacro', () => tandem().macros.delete(input.value.macroId, locals.principal!), { notice: 'Macro deleted.', notFound: NO_MACRO });
	},
	createChannel: async ({ request, locals }) => {
		const input = await read(request, schemas.createChannel, 'createChannel');
		if (!input.ok) return input.failure;
		const { channels } = tandem();
		if (await channels.exists(input.value.name)) return fail(400, { action: 'createChannel', message: `name: a channel named “${input.value.name}” exists already` });
		const created = await channels.create(input.value, actor(locals));
		return {
			action: 'createChannel',
			notice: `Channel “${created.name}” created. Copy its signing secret now: it will not be shown again.`,
			secret: created.secret,
			channelId: created.id
		};
	},
	updateChannel: async ({ request, locals }) => {
		const input = await read(request, schemas.updateChannel, 'updateChannel');
		if (!input.ok) return input.failure;
		const { channelId, name, outboundUrl } = input.value;
		const { channels } = tandem();
		if (await channels.exists(name, channelId)) return fail(400, { action: 'updateChannel', message: `name: a channel named “${name}” exists already` });
		return formChange('updateChannel', async () => {
			const channel = await channels.update(channelId, { name, outboundUrl }, actor(locals));
			return { notice: `Channel “${channel.name}” saved.` };
		}, { notFound: NO_CHANNEL });
	},
	createTalkNumber: async ({ request, locals }) => {
		const input = await read(request, schemas.createTalkNumber, 'createTalkNumber');
		if (!input.ok) return input.failure;
		return formChange('createTalkNumber', async () => {
			const created = await tandem().talkNumbers.create(input.value, actor(locals));
			return { notice: `Talk number ${created.number} (“${created.label}”) added.` };
		});
	},
	updateTalkNumber: async ({ request, locals }) => {
		const input = await read(request, schemas.updateTalkNumber, 'updateTalkNumber');
		if (!input.ok) return input.failure;
		const { talkNumberId, ...change } = input.value;
		return formChange('updateTalkNumber', async () => {
			const saved = await tandem().talkNumbers.update(talkNumberId, change, actor(locals));
			return { notice: `Talk number ${saved.number} saved.` };
		});
	},
	rotateChannelSecret: async ({ request, locals }) => {
		const input = await read(request, schemas.rotateChannelSecret, 'rotateChannelSecret');
		if (!input.ok) return input.failure;
		return formChange('rotateChannelSecret', async () => {
			const rotated = await tandem().channels.rotateSecret(input.value.channelId, actor(locals));
			return {
				notice: 'Secret rotated: the old one no longer works. Copy the new one now: it will not be shown again.',
				secret: rotated.secret,
				channelId: rotated.id
			};
		}, { notFound: NO_CHANNEL });
	},
	addSupportAddress: async ({ request, locals }) => {
		const input = await read(request, schemas.addSupportAddress, 'addSupportAddress');
		if (!input.ok) return input.failure;
		const { address, name, groupId } = input.value;
		return addressChange('addSupportAddress', `Mail to ${address} now reaches Tandem.`, groupId, () =>
			tandem().supportAddresses.add({ address, name, groupId: groupId ?? null }, actor(locals))
		);
	},
	updateSupportAddress: async ({ request, locals }) => {
		const input = await read(request, schemas.updateSupportAddress, 'updateSupportAddress');
		if (!input.ok) return input.failure;
		const { address, name, groupId } = input.value;
		return addressChange('updateSupportAddress', `${address} saved.`, groupId, () =>
			tandem().supportAddresses.update(address, { name, groupId: groupId ?? null }, actor(locals))
		);
	},
	removeSupportAddress: async ({ request, locals }) => {
		const input = await read(request, schemas.removeSupportAddress, 'removeSupportAddress');
		if (!input.ok) return input.failure;
		return addressChange('removeSupportAddress', `Mail to ${input.value.address} is no longer accepted.`, undefined, async () => {
			await tandem().supportAddresses.remove(input.value.address, actor(locals));
			await tandem().imapMailboxes.forget(input.value.address);
		});
	},
	setSupportAddressSignature: async ({ request, locals }) => {
		const input = await read(request, schemas.setSupportAddressSignature, 'setSupportAddressSignature');
		if (!input.ok) return input.failure;
		const { address, signature } = input.value;
		return formChange('setSupportAddressSignature', () => tandem().supportAddresses.setSignature(address, signature, actor(locals)), {
			notice: signature ? `Replies from ${address} are signed.` : `Replies from ${address} have no signature.`,
			notFound: 'No support address by that name.'
		});
	},
	saveImapMailbox: async ({ request, locals }) => {
		const input = await read(request, schemas.saveImapMailbox, 'saveImapMailbox');
		if (!input.ok) return input.failure;
		const { address, ...mailbox } = input.value;
		return formChange('saveImapMailbox', () => tandem().imapMailboxes.save(address, mailbox, actor(locals)), {
			notice: `Mail for ${address} is now fetched from ${mailbox.host}; its status shows below.`,
			notFound: 'No support address by that name.'
		});
	},
	removeImapMailbox: async ({ request, locals }) => {
		const input = await read(request, schemas.removeImapMailbox, 'removeImapMailbox');
		if (!input.ok) return input.failure;
		return formChange('removeImapMailbox', () => tandem().imapMailboxes.remove(input.value.address, actor(locals)), {
			notice: `Mail for ${input.value.address} is no longer fetched over IMAP.`,
			notFound: 'That address has no IMAP mailbox.'
		});
	}
};

/** Support address changes; a group must exist. */
async function addressChange(action: string, notice: string, groupId: string | undefined, change: () => unknown) {
	if (groupId && !(await tandem().accounts.listGroups()).some((g) => g.id === groupId)) return fail(400, { action, message: 'groupId: no such group' });
	return formChange(action, async () => void (await change()), { notice });
}
