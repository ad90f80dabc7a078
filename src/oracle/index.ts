import { mixOracles } from './personeel-mix.js';
import { staffOracles } from './personeel.js';
import type { ItemOracle } from './types.js';

export type { ItemOracle } from './types.js';

/** Every item oracle, by pack item id (personeelssamenstelling). */
export const ITEM_ORACLES: Readonly<Record<string, ItemOracle>> = { ...staffOracles, ...mixOracles };
