/**
 * Echo bot: watches one ticket live and acknowledges each new customer message.
 *
 *   TANDEM_URL=http://127.0.0.1:3000 TANDEM_TOKEN=<api token> TICKET_ID=<ticket id> \
 *     node --import tsx examples/echo-bot.ts
 *
 * The token's channels must include the ticket's channel. Replies go over HTTP, where the server
 * writes the bot as the author (over the websocket a bot would have to name its own token id);
 * each reply's id is chosen before sending, so a retried request never answers twice.
 * Ctrl-C to stop.
 */
import { TandemBot, type Entry } from '../src/lib/bot/index.ts';

const { TANDEM_URL = 'http://127.0.0.1:3000', TANDEM_TOKEN, TICKET_ID } = process.env;
if (!TANDEM_TOKEN || !TICKET_ID) {
	console.error('set TANDEM_TOKEN and TICKET_ID (and TANDEM_URL if not http://127.0.0.1:3000)');
	process.exit(2);
}

const bot = new TandemBot({ url: TANDEM_URL, token: TANDEM_TOKEN });

async function acknowledge(message: Entry) {
	const { entry, created } = await bot.appendEntry(TICKET_ID!, {
		kind: 'message',
		channel: message.channel,
		direction: 'out',
		visibility: 'public',
		body: `Thanks, we received your message ("${message.body.slice(0, 60)}") and will get back to you soon.`
	});
	console.log(`${created ? 'answered' : 'already answered'} ${message.id} with ${entry.id}`);
}

const live = await bot.watch(TICKET_ID, (entry) => {
	if (entry.kind !== 'message' || entry.authorType !== 'customer') return;
	acknowledge(entry).catch((error) => console.error(`could not answer ${entry.id}:`, error));
});
console.log(`watching ticket ${TICKET_ID} (${live.entries().length} entries so far)`);

process.on('SIGINT', () => {
	bot.close();
	process.exit(0);
});
