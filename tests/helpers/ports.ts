/** Loopback ports for the servers test harnesses start: the same helpers `npm run cluster` uses. */
export { accepts, freePort } from '../../scripts/local-servers/loopback';
