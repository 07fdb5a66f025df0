/**
 * Errors the HTTP API turns into `{error: {code, message, field?}}` with a status. The SvelteKit
 * build bundles its own copy of this module, so errors are recognised by `name`, not instanceof.
 */
export class ApiError extends Error {
	override readonly name = 'ApiError';
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly field?: string
	) {
		super(message);
	}
}

export const notFound = (what: string) => new ApiError(404, 'not_found', `${what} not found`);
export const forbidden = (message: string) => new ApiError(403, 'forbidden', message);

export function isApiError(error: unknown): error is ApiError {
	return error instanceof Error && error.name === 'ApiError';
}
