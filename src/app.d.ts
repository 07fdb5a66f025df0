import type { Credential } from '../server/auth';
import type { Principal } from '../server/auth/principal';
import type { Session } from '../server/auth/sessions';

declare global {
	namespace App {
		interface Locals {
			principal: Principal | null;
			session: Session | null;
			/** What the caller authenticated with, for re-checks while a stream lasts. */
			credential: Credential | null;
		}
		interface Error {
			message: string;
			code?: string;
		}
	}
}

export {};
