import type { Principal } from '../server/auth/principal';
import type { Session } from '../server/auth/sessions';

declare global {
	namespace App {
		interface Locals {
			principal: Principal | null;
			session: Session | null;
		}
		interface Error {
			message: string;
			code?: string;
		}
	}
}

export {};
