import type { StagingRows } from './personeel.js';

/**
 * An independent computation of one pack item from the staging rows (no RDF, no SPARQL), used as
 * the test oracle for that item's query. Parameters arrive as the manifest gives them for the year
 * (dates as YYYY-MM-DD text, IRIs as text). It returns, per indeling (vestigingsnummer or
 * "Organisatie"), the exact teller and noemer the query must return (decimal text; noemer null for
 * items without one). Rows the query would not return (e.g. a location with no data) are left out.
 */
export type ItemOracle = (tables: StagingRows, params: Record<string, string>) => Array<{ indeling: string; teller: string; noemer: string | null }>;
