/** Whether a write failed on a unique constraint (on either engine): someone else wrote the row first. */
export function isUniqueViolation(error: unknown): boolean {
	for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
		if (e.code === '23505' || e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return true;
	}
	return false;
}
