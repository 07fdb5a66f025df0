/** Pure helpers of the composer and the context panel: macro insertion and event wording. */
import { describe, expect, it } from 'vitest';
import { joinAt } from '../../src/lib/client/composer.svelte';
import { describeEvent, type TicketEvent } from '../../src/lib/client/context-panel.svelte';
import type { Workspace } from '../../src/lib/client/workspace.svelte';

describe('joinAt: a macro body at the cursor', () => {
	it('goes in as is into an empty draft or after white space', () => {
		expect(joinAt('', 'Hello')).toEqual({ insert: 'Hello', caret: 5 });
		expect(joinAt('s ', 'Hello')).toEqual({ insert: 'Hello', caret: 5 });
		expect(joinAt('.\n\n', 'Hello')).toEqual({ insert: 'Hello', caret: 5 });
	});

	it('starts a paragraph of its own after text, and keeps text after it apart', () => {
		expect(joinAt('w.', 'Hello')).toEqual({ insert: '\n\nHello', caret: 7 });
		expect(joinAt('w\n', 'Hello')).toEqual({ insert: '\nHello', caret: 6 });
		expect(joinAt('', 'Hello', 'N')).toEqual({ insert: 'Hello\n\n', caret: 5 });
		expect(joinAt('', 'Hello', '\nB')).toEqual({ insert: 'Hello\n', caret: 5 });
		expect(joinAt('', 'Hello', '\n\n')).toEqual({ insert: 'Hello', caret: 5 });
		expect(joinAt('', 'Hello', ' x')).toEqual({ insert: 'Hello', caret: 5 });
	});
});

describe('describeEvent: the interaction history in words', () => {
	const workspace = {
		me: { id: 'u1', name: 'Alex Agent', role: 'agent' },
		people: [{ id: 'u2', name: 'Sam Supervisor', role: 'supervisor' }],
		personName: (id: string | null) => (id === 'u1' ? 'Alex Agent' : id === 'u2' ? 'Sam Supervisor' : 'Unknown'),
		groupName: (id: string | null) => (id === 'g1' ? 'Billing' : 'Unknown group')
	} as unknown as Workspace;
	const event = (type: string, actor: string, data: Record<string, unknown>): TicketEvent => ({ id: 1, type, actor, data, createdAt: 0 });

	it('says who changed what', () => {
		expect(describeEvent(event('field.changed', 'user:u1', { field: 'status', from: 'open', to: 'pending' }), workspace)).toBe(
			'Alex Agent changed status from open to pending'
		);
		expect(describeEvent(event('field.changed', 'user:u1', { field: 'assigneeId', from: null, to: 'u1' }), workspace)).toBe('Alex Agent took the ticket');
		expect(describeEvent(event('field.changed', 'user:u1', { field: 'groupId', from: null, to: 'g1' }), workspace)).toBe('Alex Agent moved the ticket to Billing');
	});

	it('names entries, side conversations and views', () => {
		expect(describeEvent(event('entry.added', 'user:u1', { kind: 'note', place: 'conversation' }), workspace)).toBe('Note added by Alex Agent');
		expect(describeEvent(event('entry.added', 'bot:b1', { kind: 'message', channel: 'email', place: 'conversation' }), workspace)).toBe(
			'Message received by email'
		);
		expect(describeEvent(event('side.opened', 'user:u1', { subject: 'Vendor' }), workspace)).toBe('Alex Agent started a side conversation “Vendor”');
		expect(describeEvent(event('ticket.viewed', 'user:u2', { readOnly: true }), workspace)).toBe('Viewed by Sam Supervisor (supervisor)');
	});

	it('names chats, calls, SLA breaches and refusals', () => {
		expect(describeEvent(event('chat.started', 'visitor:v1', {}), workspace)).toBe('The visitor started a chat');
		expect(describeEvent(event('chat.served', 'user:u1', {}), workspace)).toBe('Alex Agent served the chat');
		expect(describeEvent(event('chat.ended', 'visitor:v1', {}), workspace)).toBe('The visitor ended the chat');
		expect(describeEvent(event('call.held', 'user:u1', {}), workspace)).toBe('Alex Agent put the call on hold');
		expect(describeEvent(event('call.ringing', 'system', {}), workspace)).toBe('A call is ringing');
		expect(describeEvent(event('sla.breached', 'system', { metric: 'firstReply' }), workspace)).toBe('SLA breached: first reply');
		expect(describeEvent(event('update.rejected', 'user:u1', { reason: 'read-only' }), workspace)).toBe('A change by Alex Agent was refused (read-only)');
		expect(describeEvent(event('something.new', 'system', {}), workspace)).toBe('Tandem: something new');
	});
});
