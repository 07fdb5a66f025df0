/**
 * HTTP API plumbing: JSON bodies read with size and nesting limits, validated once by a zod schema, errors as
 * `{error: {code, message, field?}}`.
 */
import { json, type RequestEvent } from '@sveltejs/kit';
import type { z } from 'zod';
import { ApiError, forbidden, isApiError } from '../../../server/errors';
import type { Principal, UserPrincipal } from '../../../server/auth/principal';
import { isDatabaseUnavailable } from '../../../server/storage/unavailable';
import { byteLength, MAX_BODY_BYTES, nestedDeeperThan } from '../ticket/schema';

/** Largest JSON request body accepted. */
export const MAX_REQUEST_BYTES = 1024 * 1024;
/** Deepest nesting of a JSON request body (`{}` is one level); no endpoint needs more. */
export const MAX_REQUEST_DEPTH = 32;

export function errorResponse(error: ApiError): Response {
	const body: { code: string; message: string; field?: string } = { code: error.code, message: error.message };
	if (error.field) body.field = error.field;
	return json({ error: body }, { status: error.status });
}

/** Why a request was answered 503 while the database does not answer. */
export const DATABASE_UNAVAILABLE = 'the database does not answer; nothing was done, try again shortly';

/** Runs an endpoint, turning known failures into API errors. */
export async function api(run: () => Promise<Response> | Response): Promise<Response> {
	try {
		return await run();
	} catch (error) {
		// Thrown by the server's modules, which this bundle does not share: matched by name.
		if (isApiError(error)) return errorResponse(error);
		const { name, reason } = (error ?? {}) as { name?: string; reason?: string };
		if (name === 'StorageError' || reason === 'storage-unavailable') {
			return errorResponse(new ApiError(503, 'storage_unavailable', 'the change could not be stored; nothing was saved'));
		}
		if (reason === 'ticket-damaged') {
			return errorResponse(new ApiError(503, 'ticket_damaged', 'this ticket could not be loaded; an admin can run `cli repair` on it'));
		}
		if (name === 'DuplicateEntryError') return errorResponse(new ApiError(409, 'duplicate_entry', (error as Error).message, 'id'));
		// A read or a write that never reached the update log, while the database is away.
		if (isDatabaseUnavailable(error)) return errorResponse(new ApiError(503, 'storage_unavailable', DATABASE_UNAVAILABLE));
		throw error;
	}
}

export function requirePrincipal(event: RequestEvent): Principal {
	if (!event.locals.principal) throw new ApiError(401, 'unauthorized', 'send `Authorization: Bearer <token>` or sign in');
	return event.locals.principal;
}

/** The signed-in user (a session cookie, or a session token as bearer); 403 for an API token. */
export function requireUser(event: RequestEvent): UserPrincipal {
	const principal = requirePrincipal(event);
	if (principal.kind !== 'user') throw forbidden('this endpoint is for signed-in users, not API tokens');
	return principal;
}

export function requireAdmin(event: RequestEvent): UserPrincipal {
	const user = requireUser(event);
	if (user.role !== 'admin') throw forbidden('only admins may do this');
	return user;
}

/** A signed-in supervisor or admin. */
export function requireSupervisor(event: RequestEvent): UserPrincipal {
	const user = requireUser(event);
	if (user.role === 'agent') throw forbidden('only supervisors and admins may do this');
	return user;
}

/** The raw request body as text (at most MAX_REQUEST_BYTES), e.g. to check a signature over it. */
export async function readText(request: Request): Promise<string> {
	if (!request.body) return '';
	// Past the limit the rest is read and dropped, not kept: the connection stays usable for the
	// next request, and a large body costs no memory (adapter-node's own limit is sized for uploads).
	const kept: Uint8Array[] = [];
	let size = 0;
	try {
		for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
			size += chunk.byteLength;
			if (size <= MAX_REQUEST_BYTES) kept.push(chunk);
		}
	} catch {
		throw tooLarge();
	}
	if (size > MAX_REQUEST_BYTES) throw tooLarge();
	return Buffer.concat(kept).toString('utf8');
}

export async function readJson(request: Request): Promise<unknown> {
	return parseJsonText(await readText(request));
}

/** Every JSON request body is parsed here: checked for depth before any schema walks it. */
export function parseJsonText(text: string): unknown {
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch {
		throw new ApiError(400, 'bad_json', 'the request body is not valid JSON');
	}
	if (nestedDeeperThan(value, MAX_REQUEST_DEPTH)) throw new ApiError(400, 'json_too_deep', `JSON request bodies may nest at most ${MAX_REQUEST_DEPTH} levels`);
	return value;
}

const tooLarge = () => new ApiError(413, 'payload_too_large', `request bodies are limited to ${MAX_REQUEST_BYTES} bytes`);

/** Validates `value`; the first problem becomes a 400 naming the field (413 for an oversize body). */
export function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
	const result = schema.safeParse(value);
	if (result.success) return result.data;
	const issue = result.error.issues[0];
	const field = issue.path.join('.') || undefined;
	const body = (value as { body?: unknown } | null)?.body;
	if (field === 'body' && typeof body === 'string' && byteLength(body) > MAX_BODY_BYTES) {
		throw new ApiError(413, 'payload_too_large', `body is limited to ${MAX_BODY_BYTES} bytes`, 'body');
	}
	throw new ApiError(400, 'invalid_field', field ? `${field}: ${issue.message}` : issue.message, field);
}

export async function parseJson<T extends z.ZodType>(request: Request, schema: T): Promise<z.infer<T>> {
	return parse(schema, await readJson(request));
}
