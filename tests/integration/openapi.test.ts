import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../helpers/server';

let server: RunningServer;

beforeAll(async () => {
	server = await startServer();
});
afterAll(async () => {
	await server?.stop();
});

const PATHS = [
	'/saved-views',
	'/saved-views/{id}',
	'/tickets',
	'/tickets/bulk',
	'/tickets/{id}',
	'/tickets/{id}/entries',
	'/tickets/{id}/events',
	'/tickets/{id}/merge',
	'/tickets/{id}/split',
	'/tickets/{id}/deliveries',
	'/tickets/{id}/attachments',
	'/tickets/{id}/attachments/{sha256}',
	'/views',
	'/stream',
	'/customers/{id}',
	'/channels/{id}/webhook',
	'/users',
	'/groups',
	'/macros',
	'/macros/{id}',
	'/tickets/{id}/chat',
	'/tickets/{id}/chat/serve',
	'/tickets/{id}/chat/end',
	'/visitor',
	'/visitor/pages',
	'/visitor/chat',
	'/visitor/chat/messages',
	'/visitor/chat/typing',
	'/visitor/chat/presence',
	'/visitor/chat/stream',
	'/talk/calls',
	'/talk/calls/{id}',
	...['accept', 'decline', 'hold', 'resume', 'transfer', 'end'].map((action) => `/talk/calls/{id}/${action}`),
	'/talk/stream',
	'/talk/simulator/calls',
	'/talk/simulator/calls/{id}/hangup',
	'/customers/{id}/history',
	'/customers/{id}/link',
	'/help/articles',
	'/help/articles/{id}',
	'/object-types',
	'/object-types/{id}',
	'/objects',
	'/objects/{id}',
	'/tickets/{id}/objects',
	'/tickets/{id}/objects/{recordId}',
	'/apps',
	'/apps/{id}',
	'/me/status',
	'/statuses',
	'/statuses/{id}',
	'/offers',
	'/offers/{id}/accept',
	'/offers/{id}/decline',
	'/agent/stream',
	'/supervisor/dashboard',
	'/tickets/{id}/reassign',
	'/tickets/{id}/children',
	'/tickets/{id}/sla',
	'/tickets/{id}/follow',
	'/tickets/{id}/followers',
	'/notices',
	'/notices/read',
	'/routing/settings',
	'/search',
	'/users/{id}/routing',
	'/sla-policies',
	'/satisfaction/settings',
	'/satisfaction/{token}',
	'/visitor/chat/satisfaction',
	'/ticket-fields',
	'/ticket-fields/{key}',
	'/ticket-forms',
	'/ticket-forms/{id}',
	'/rules',
	'/rules/{id}',
	'/rules/order',
	'/rules/test',
	'/business-hours',
	'/business-hours/{scope}'
];

describe('GET /api/v1/openapi.json', () => {
	it('is an OpenAPI 3.1 document of every endpoint, without a token', async () => {
		const res = await fetch(`${server.url}/api/v1/openapi.json`);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toMatch(/^application\/json/);
		const doc = JSON.parse(await res.text());
		expect(doc.openapi).toBe('3.1.0');
		expect(doc.servers).toEqual([{ url: '/api/v1' }]);
		expect(doc.components.securitySchemes.bearer).toEqual({ type: 'http', scheme: 'bearer' });
		expect(Object.keys(doc.paths).sort()).toEqual([...PATHS].sort());
		expect(Object.keys(doc.paths['/macros/{id}']).sort()).toEqual(['delete', 'put']);
		expect(doc.paths['/stream'].get.responses['200'].content).toHaveProperty('text/event-stream');
		const listParams = doc.paths['/tickets'].get.parameters.map((p: { name: string }) => p.name);
		expect(listParams).toEqual(expect.arrayContaining(['view', 'status', 'assignee', 'group', 'q', 'sort', 'limit', 'cursor']));
	});

	it('describes request bodies and answers with the shared schemas', async () => {
		const doc = await (await fetch(`${server.url}/api/v1/openapi.json`)).json();
		const schemas = doc.components.schemas;
		const create = doc.paths['/tickets'].post.requestBody.content['application/json'].schema;
		const createSchema = create.$ref ? schemas[create.$ref.split('/').pop()] : create;
		expect(createSchema.required).toEqual(expect.arrayContaining(['subject', 'requester', 'channel', 'body']));
		expect(schemas).toHaveProperty('Entry');
		expect(schemas).toHaveProperty('Error');
		expect(doc.paths['/tickets/{id}/entries'].post.responses['201'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Entry' });
		expect(doc.paths['/tickets/{id}'].get.responses['404'].content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
		expect(JSON.stringify(doc)).not.toContain('__schema');
	});
});

describe('GET /api', () => {
	it('renders the API without a session', async () => {
		const res = await fetch(`${server.url}/api`, { redirect: 'manual' });
		expect(res.status).toBe(200);
		const html = await res.text();
		expect(html).toContain('/tickets');
		expect(html).toContain('Create a ticket');
		expect(html).toContain('/api/v1/openapi.json');
	});

	it('keeps other pages behind sign-in', async () => {
		const res = await fetch(`${server.url}/api-keys`, { redirect: 'manual' });
		expect(res.status).toBe(303);
	});
});
