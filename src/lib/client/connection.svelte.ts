/**
 * The browser's one websocket to `/collab`, shared by every open ticket (Hocuspocus multiplexes
 * documents over it). Its state drives the connection indicator.
 */
import { HocuspocusProviderWebsocket, WebSocketStatus } from '@hocuspocus/provider';
import { WORKSPACE_RECONNECT } from '$lib/provider-socket';

export type ConnectionState = 'connecting' | 'live' | 'offline';

export class CollabConnection {
	state = $state<ConnectionState>('connecting');
	readonly socket: HocuspocusProviderWebsocket;

	constructor(url: string) {
		this.socket = new HocuspocusProviderWebsocket({ url, ...WORKSPACE_RECONNECT });
		this.socket.on('status', ({ status }: { status: WebSocketStatus }) => {
			this.state = status === WebSocketStatus.Connected ? 'live' : status === WebSocketStatus.Connecting ? 'connecting' : 'offline';
		});
		// The browser knows before the socket does: a socket that outlived the network is dropped,
		// and a new one opens as soon as the network is back (edits made meanwhile stay buffered).
		window.addEventListener('offline', () => {
			this.state = 'offline';
			this.socket.disconnect();
		});
		window.addEventListener('online', () => {
			this.state = 'connecting';
			void this.socket.connect();
		});
	}

	static forPage(): CollabConnection {
		const protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
		return new CollabConnection(`${protocol}//${location.host}/collab`);
	}

	destroy() {
		this.socket.destroy();
	}
}
