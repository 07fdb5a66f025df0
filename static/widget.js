/*
 * Tandem chat widget. Add to any page:
 *   <script src="https://tandem.example.com/widget.js" async></script>
 * Optional attributes: data-label="Chat with us", data-color="#1f4e79".
 *
 * It adds a chat button and, in an iframe from Tandem's origin, the hosted chat page (/chat?embed=1),
 * and tells that page each page the visitor views here (the visitor path agents see). Nothing else
 * of this page is read or sent.
 */
(function () {
	'use strict';
	if (window.__tandemChat) return;
	var script = document.currentScript;
	if (!script || !script.src) return;
	var origin = new URL(script.src).origin;
	var label = script.getAttribute('data-label') || 'Chat with us';
	var color = script.getAttribute('data-color') || '#1f4e79';
	var OPEN_KEY = 'tandem:chat-open';
	window.__tandemChat = true;

	var style = document.createElement('style');
	style.textContent =
		'.tandem-chat-button{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:999px;padding:12px 18px;' +
		'font:600 15px system-ui,sans-serif;color:#fff;background:' + color + ';box-shadow:0 6px 20px rgba(0,0,0,.2);cursor:pointer}' +
		'.tandem-chat-button:focus-visible{outline:3px solid #9ec5ff;outline-offset:2px}' +
		'.tandem-chat-badge{display:inline-block;min-width:8px;height:8px;margin-left:8px;border-radius:50%;background:#f04438;vertical-align:middle}' +
		'.tandem-chat-frame{position:fixed;right:20px;bottom:80px;z-index:2147483000;width:380px;height:min(600px,calc(100vh - 110px));' +
		'border:1px solid #dfe3e8;border-radius:12px;box-shadow:0 12px 40px rgba(0,0,0,.25);background:#fff}' +
		'.tandem-chat-frame[hidden],.tandem-chat-badge[hidden]{display:none}' +
		'@media (max-width:480px){.tandem-chat-frame{right:0;bottom:0;width:100vw;height:100vh;border-radius:0}}';
	document.head.appendChild(style);

	var frame = document.createElement('iframe');
	frame.className = 'tandem-chat-frame';
	frame.title = 'Chat';
	frame.src = origin + '/chat?embed=1';
	frame.hidden = true;

	var button = document.createElement('button');
	button.type = 'button';
	button.className = 'tandem-chat-button';
	button.setAttribute('aria-expanded', 'false');
	button.textContent = label;
	var badge = document.createElement('span');
	badge.className = 'tandem-chat-badge';
	badge.hidden = true;
	badge.setAttribute('aria-label', 'new message');
	button.appendChild(badge);

	function setOpen(open) {
		frame.hidden = !open;
		button.setAttribute('aria-expanded', String(open));
		if (open) {
			badge.hidden = true;
			frame.focus();
		}
		try {
			sessionStorage.setItem(OPEN_KEY, open ? '1' : '');
		} catch (e) {
			/* storage blocked: the panel starts closed on the next page */
		}
	}

	var ready = false;
	var lastReported = '';
	function reportPage() {
		if (!ready || location.href === lastReported) return;
		lastReported = location.href;
		frame.contentWindow.postMessage({ type: 'tandem:page', url: location.href, title: document.title }, origin);
	}

	button.addEventListener('click', function () {
		setOpen(frame.hidden);
	});
	window.addEventListener('message', function (event) {
		if (event.origin !== origin || event.source !== frame.contentWindow || !event.data) return;
		if (event.data.type === 'tandem:ready') {
			ready = true;
			reportPage();
		} else if (event.data.type === 'tandem:close') {
			setOpen(false);
			button.focus();
		} else if (event.data.type === 'tandem:message' && frame.hidden) {
			badge.hidden = false;
		}
	});
	// Single-page sites change pages without loading one: follow the history too.
	['pushState', 'replaceState'].forEach(function (name) {
		var original = history[name];
		history[name] = function () {
			var result = original.apply(this, arguments);
			setTimeout(reportPage, 0);
			return result;
		};
	});
	window.addEventListener('popstate', reportPage);

	function mount() {
		document.body.appendChild(frame);
		document.body.appendChild(button);
		var open = false;
		try {
			open = sessionStorage.getItem(OPEN_KEY) === '1';
		} catch (e) {
			/* storage blocked */
		}
		if (open) setOpen(true);
	}
	if (document.body) mount();
	else document.addEventListener('DOMContentLoaded', mount);
})();
