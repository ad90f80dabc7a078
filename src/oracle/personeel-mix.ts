/**
 * Item oracles (src/oracle/types.ts) for personeelssamenstelling chapters 2–4 (qualification mix,
 * interns, volunteers, absence, in-, out- and throughflow), by pack item id.
 */
import type { ItemOracle } from './types.js';

export const mixOracles: Record<string, ItemOracle> = {};
