import { openApiDocument } from '$lib/api/openapi';
import type { PageServerLoad } from './$types';

type Schema = Record<string, unknown> & { $ref?: string };

export interface ApiParameter {
	name: string;
	in: string;
	required: boolean;
	type: string;
	description: string;
}
export interface ApiOperation {
	id: string;
	method: string;
	path: string;
	summary: string;
	description: string;
	parameters: ApiParameter[];
	requestBody: string | null;
	responses: { status: string; description: string; type: string | null; mediaType: string | null }[];
}
export interface ApiSchema {
	name: string;
	description: string;
	properties: { name: string; type: string; required: boolean; description: string }[];
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/** A short, readable type: component names, enums as `a | b`, arrays as `T[]`, objects as `{a: T}`. */
function typeLabel(schema: Schema | undefined, depth = 0): string {
	if (!schema) return 'any';
	if (schema.$ref) return schema.$ref.split('/').pop()!;
	if (Array.isArray(schema.enum)) return schema.enum.map((v) => JSON.stringify(v)).join(' | ');
	if (Array.isArray(schema.anyOf)) return (schema.anyOf as Schema[]).map((s) => typeLabel(s, depth)).join(' | ');
	if (Array.isArray(schema.oneOf)) return (schema.oneOf as Schema[]).map((s) => typeLabel(s, depth)).join(' | ');
	if (Array.isArray(schema.type)) return schema.type.join(' | ');
	if (schema.type === 'array') return `${typeLabel(schema.items as Schema, depth)}[]`;
	if (schema.type === 'object' && schema.properties && depth < 2) {
		const props = Object.entries(schema.properties as Record<string, Schema>).map(([key, s]) => `${key}: ${typeLabel(s, depth + 1)}`);
		return `{${props.join(', ')}}`;
	}
	if (schema.type === 'object' && schema.additionalProperties && typeof schema.additionalProperties === 'object') {
		return `map of ${typeLabel(schema.additionalProperties as Schema, depth + 1)}`;
	}
	return typeof schema.type === 'string' ? schema.type : 'any';
}

function contentType(content: Record<string, { schema?: Schema }> | undefined) {
	const [mediaType, media] = Object.entries(content ?? {})[0] ?? [];
	return mediaType ? { mediaType, type: typeLabel(media?.schema) } : { mediaType: null, type: null };
}

export const load: PageServerLoad = () => {
	const document = openApiDocument();
	const byTag = new Map<string, ApiOperation[]>();
	for (const [path, item] of Object.entries(document.paths ?? {})) {
		for (const method of METHODS) {
			const operation = item?.[method];
			if (!operation) continue;
			const parameters = ((operation.parameters ?? []) as { name: string; in: string; required?: boolean; schema?: Schema; description?: string }[]).map(
				(p) => ({
					name: p.name,
					in: p.in,
					required: p.required ?? false,
					type: typeLabel(p.schema) + (p.schema && 'default' in p.schema ? ` (default ${JSON.stringify(p.schema.default)})` : ''),
					description: p.description ?? (typeof p.schema?.description === 'string' ? p.schema.description : '')
				})
			);
			const body = operation.requestBody as { content?: Record<string, { schema?: Schema }> } | undefined;
			const responses = Object.entries(operation.responses ?? {}).map(([status, response]) => {
				const r = response as { description?: string; content?: Record<string, { schema?: Schema }> };
				return { status, description: r.description ?? '', ...contentType(r.content) };
			});
			const entry: ApiOperation = {
				id: operation.operationId ?? `${method}-${path}`,
				method: method.toUpperCase(),
				path,
				summary: operation.summary ?? '',
				description: operation.description ?? '',
				parameters,
				requestBody: body ? contentType(body.content).type : null,
				responses
			};
			const tag = operation.tags?.[0] ?? 'Other';
			byTag.set(tag, [...(byTag.get(tag) ?? []), entry]);
		}
	}
	const tags = [...byTag].map(([name, operations]) => ({
		name,
		description: document.tags?.find((t) => t.name === name)?.description ?? '',
		operations
	}));
	const schemas: ApiSchema[] = Object.entries(document.components?.schemas ?? {}).map(([name, raw]) => {
		const schema = raw as Schema;
		const required = new Set((schema.required as string[] | undefined) ?? []);
		return {
			name,
			description: typeof schema.description === 'string' ? schema.description : '',
			properties: Object.entries((schema.properties as Record<string, Schema> | undefined) ?? {}).map(([key, s]) => ({
				name: key,
				type: typeLabel(s, 1),
				required: required.has(key),
				description: typeof s.description === 'string' ? s.description : ''
			}))
		};
	});
	return {
		title: document.info.title,
		description: document.info.description ?? '',
		server: document.servers?.[0]?.url ?? '',
		tags,
		schemas
	};
};
