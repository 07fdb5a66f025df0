/*
 * Tandem app SDK: the page of an app in the ticket's context panel talks to Tandem through it.
 * The app runs in a sandboxed iframe (no same-origin access): all it knows and does goes through
 * postMessage, and Tandem acts only within the scopes an admin granted the app.
 *
 *   <script src="/apps/sdk.js"></script>
 *   const context = await Tandem.ready();           // {ticket, customer, records, app}
 *   Tandem.onContext((context) => …);               // the ticket or its records changed
 *   await Tandem.insertIntoDraft('text');           // scope draft.insert
 *   await Tandem.setField('status', 'pending');     // scope ticket.fields (status, priority)
 *   await Tandem.addTag('vip');                     // scope ticket.tags
 *   await Tandem.addNote('text');                   // scope ticket.notes
 *
 * Every call returns a promise; a refused call (outside the app's scopes, or invalid) rejects
 * with an Error whose message says why, and changes nothing.
 */
(function () {
	'use strict';
	var nextId = 1;
	var pending = {};
	var listeners = [];
	var TIMEOUT_MS = 10000;

	window.addEventListener('message', function (event) {
		// Only Tandem, the page that embeds this app, is listened to.
		if (event.source !== window.parent) return;
		var message = event.data;
		if (!message || message.tandem !== 1) return;
		if (message.event === 'context') {
			listeners.forEach(function (listener) {
				listener(message.context);
			});
			return;
		}
		var call = pending[message.re];
		if (!call) return;
		delete pending[message.re];
		clearTimeout(call.timer);
		if (message.ok) call.resolve(message.result);
		else call.reject(new Error(message.error || 'refused'));
	});

	function request(action, fields) {
		return new Promise(function (resolve, reject) {
			var id = nextId++;
			var message = { tandem: 1, id: id, action: action };
			for (var key in fields) message[key] = fields[key];
			pending[id] = {
				resolve: resolve,
				reject: reject,
				timer: setTimeout(function () {
					delete pending[id];
					reject(new Error('Tandem did not answer'));
				}, TIMEOUT_MS)
			};
			// The host checks that messages come from this app's frame; the frame's origin is opaque.
			window.parent.postMessage(message, '*');
		});
	}

	window.Tandem = {
		ready: function () {
			return request('ready', {});
		},
		onContext: function (listener) {
			listeners.push(listener);
		},
		insertIntoDraft: function (text) {
			return request('insertIntoDraft', { text: String(text) });
		},
		setField: function (name, value) {
			return request('setField', { name: String(name), value: String(value) });
		},
		addTag: function (tag) {
			return request('addTag', { tag: String(tag) });
		},
		addNote: function (text) {
			return request('addNote', { text: String(text) });
		}
	};
})();
