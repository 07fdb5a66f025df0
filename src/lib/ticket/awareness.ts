/**
 * What a peer may publish in a ticket document's awareness: the fields the workspace reads and
 * nothing else. The server keeps only these (unknown fields, a `visitor` included, are dropped)
 * and sets `user` itself. The visitor is published by the server as itself (a state without
 * `user`), the only state the workspace reads it from.
 */
import { z } from 'zod';
import { idSchema, VISIBILITIES } from './schema';

const yjsIdSchema = z.strictObject({ client: z.number().int().nonnegative(), clock: z.number().int().nonnegative() });

/** A Yjs relative position as JSON (`Y.relativePositionToJSON`), which y-codemirror publishes for carets. */
const relativePositionSchema = z.object({
	type: yjsIdSchema.nullish(),
	tname: z.string().max(64).nullish(),
	item: yjsIdSchema.nullish(),
	assoc: z.number().int().optional()
});

export const peerAwarenessSchema = z.object({
	/** The draft this peer is typing in (or just whether it types, from other Yjs tools), and whether it is a reply or a note. */
	typing: z.union([idSchema, z.boolean()]).nullish(),
	typingVisibility: z.enum(VISIBILITIES).nullish(),
	/** The caret and selection in the draft being edited. */
	cursor: z.object({ anchor: relativePositionSchema, head: relativePositionSchema }).nullish()
});
export type PeerAwareness = z.infer<typeof peerAwarenessSchema>;
