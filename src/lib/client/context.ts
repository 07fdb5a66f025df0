/** The workspace instance for components deep in the tree (set by the workspace layout). */
import { getContext, setContext } from 'svelte';
import type { Workspace } from './workspace.svelte';

const KEY = Symbol('workspace');

export function setWorkspace(get: () => Workspace | null) {
	setContext(KEY, get);
	return get;
}

export function getWorkspace(): Workspace {
	const workspace = (getContext(KEY) as () => Workspace | null)();
	if (!workspace) throw new Error('the workspace is not ready');
	return workspace;
}
