/**
 * Where a colleague's caret label goes in the composer: above the caret and to its right, unless
 * that would cut it off at the editor's edge; then to the caret's left, or below it.
 */

/** Places one `.cm-ySelectionInfo` label (inside its caret) within `frame`, the editor's visible box. */
export function placeCaretLabel(label: HTMLElement, frame: DOMRect) {
	const caret = label.parentElement?.getBoundingClientRect();
	if (!caret) return;
	const { width, height } = label.getBoundingClientRect();
	label.classList.toggle('flip', caret.left + width > frame.right);
	label.classList.toggle('below', caret.top - height < frame.top);
}
