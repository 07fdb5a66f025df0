/** What a bulk action (POST /tickets/bulk) answers: what came of it for each ticket, with its list row (`Row`) when done. */
export type BulkResult<Row> =
	| { ticketId: string; ok: true; ticket: Row }
	| { ticketId: string; ok: false; error: { status: number; code: string; message: string } };

export interface BulkReport<Row> {
	updated: number;
	refused: number;
	results: BulkResult<Row>[];
}
