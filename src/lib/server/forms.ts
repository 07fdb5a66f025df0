/**
 * Form actions: the posted form read once (a body that is no readable form is a 400), its fields checked by a zod schema (the first problem named, as the API
 * does), a change run with the services' refusals shown as the form's message, and who acted.
 */
import { error, fail } from '@sveltejs/kit';
import type { z } from 'zod';
import { isApiError } from '../../../server/errors';

/** The posted form; a body that is not one (malformed multipart, another content type) answers 400. */
export async function readForm(request: Request): Promise<FormData> {
	try {
		return await request.formData();
	} catch {
		error(400, 'the request body is not a readable form');
	}
}

/** `raw`: the form's fields, shaped for `schema` by the page (lists, nested names). */
export function parseForm<T extends z.ZodType>(schema: T, raw: unknown, action: string) {
	const parsed = schema.safeParse(raw);
	if (parsed.success) return { ok: true as const, value: parsed.data as z.infer<T> };
	const issue = parsed.error.issues[0]!;
	// A piped schema names its input `input`: the field is what the admin typed into.
	const path = issue.path.filter((part) => part !== 'input').join('.');
	return { ok: false as const, failure: fail(400, { action, message: `${path || 'form'}: ${issue.message}` }) };
}

/**
 * Runs a change: what it returns (and `notice`) is the form's answer; a refusal from the services
 * (4xx: a clash, a bad value, one deleted meanwhile) becomes its message, naming the field;
 * `notFound` replaces the message of a 404.
 */
export async function formChange(action: string, change: () => Promise<object | void> | object | void, options: { notice?: string; notFound?: string } = {}) {
	try {
		return { action, ...(options.notice ? { notice: options.notice } : {}), ...((await change()) ?? {}) };
	} catch (error) {
		if (!isApiError(error) || error.status >= 500) throw error;
		if (error.status === 404 && options.notFound) return fail(404, { action, message: options.notFound });
		const named = error.field && !error.message.startsWith(`${error.field}:`) ? `${error.field}: ${error.message}` : error.message;
		return fail(error.status, { action, message: named });
	}
}

/** Who acted, as the event log names them. */
export const formActor = (locals: App.Locals) => (locals.principal?.kind === 'user' ? `user:${locals.principal.id}` : 'system');
