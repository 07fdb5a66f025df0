/** Rules for one process: triggers, automations and business hours, wired together (see engine.ts, automations.ts). */
import { systemClock, type Clock } from '../routing/clock';
import { Automations } from './automations';
import { RuleEngine, type RuleEngineDeps } from './engine';
import { RuleStore } from './rules';

export function createRules(deps: Omit<RuleEngineDeps, 'rules' | 'accounts'> & { accounts: RuleEngineDeps['accounts'] & ConstructorParameters<typeof RuleStore>[2]; clock?: Clock }) {
	const store = new RuleStore(deps.store, deps.events, deps.accounts);
	const engine = new RuleEngine({ ...deps, rules: store });
	const clock = deps.clock ?? systemClock((error) => deps.logger.error({ err: error }, 'an automation timer failed'));
	const automations = new Automations({ store: deps.store, index: deps.index, rules: store, engine, logger: deps.logger }, clock);
	return { store, engine, automations };
}

export type Rules = ReturnType<typeof createRules>;
