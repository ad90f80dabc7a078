import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, type Quad } from 'n3';

/**
 * The ontology folder shipped with the agent (ontology/ at the package root, next to src/ and dist/).
 * Layout, so several versions can live side by side:
 *   ontology/<name>-<version>/*.ttl          declarations of the terms used (e.g. onz-3.0.0/onz-g.ttl)
 *   ontology/ext/*.ttl                        the project's extension terms (used with every version)
 *   ontology/shapes/<name>-<version>/*.ttl    SHACL shapes for data mapped with that version
 */
export const ONTOLOGY_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../ontology');

/** The folder name of an ontology version: "onz-3.0.0" stays, a bare "3.0.0" means ONZ ("onz-3.0.0"). */
export function ontologyFolder(version: string): string {
  const v = version.trim();
  return /^\d+(\.\d+)*$/.test(v) ? `onz-${v}` : v;
}

/** Installed ontology versions: folders named like "onz-3.0.0" under the ontology directory. */
export function ontologyVersions(dir: string = ONTOLOGY_DIR): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => /^[a-z0-9-]+-\d+(\.\d+)*$/.test(n) && statSync(join(dir, n)).isDirectory())
    .sort();
}

/** Thrown when an ontology version or its shapes are not installed; the message names the fix. */
export class OntologyVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OntologyVersionError';
  }
}

function turtleFilesIn(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((n) => n.endsWith('.ttl'))
    .sort()
    .map((n) => join(folder, n));
}

function requireFolder(folder: string, what: string, version: string, dir: string): void {
  if (existsSync(folder) && statSync(folder).isDirectory() && turtleFilesIn(folder).length > 0) return;
  const installed = ontologyVersions(dir);
  throw new OntologyVersionError(
    `ontology version "${version}" has no ${what}: ${folder} does not exist or holds no .ttl files ` +
      `(installed versions: ${installed.length ? installed.join(', ') : 'none'}). ` +
      `Set mapping.ontology in the configuration to an installed version, or add ${what} for "${ontologyFolder(version)}" under ${dir}.`,
  );
}

/** The declaration files of a version plus the extension files (ontology/ext/*.ttl). */
export function ontologyFiles(version: string, dir: string = ONTOLOGY_DIR): string[] {
  const folder = join(dir, ontologyFolder(version));
  requireFolder(folder, 'declarations', version, dir);
  return [...turtleFilesIn(folder), ...turtleFilesIn(join(dir, 'ext'))];
}

/** The SHACL shape files of a version (ontology/shapes/<version>/*.ttl). */
export function shapeFiles(version: string, dir: string = ONTOLOGY_DIR): string[] {
  const folder = join(dir, 'shapes', ontologyFolder(version));
  requireFolder(folder, 'SHACL shapes', version, dir);
  return turtleFilesIn(folder);
}

/** Parses Turtle files into quads; a syntax error names the file. */
export function parseTurtleFiles(files: string[]): Quad[] {
  const quads: Quad[] = [];
  for (const file of files) {
    try {
      quads.push(...new Parser({ format: 'text/turtle', baseIRI: `file://${file}` }).parse(readFileSync(file, 'utf8')));
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message}`);
    }
  }
  return quads;
}

const OWL = 'http://www.w3.org/2002/07/owl#';
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';
const RDFS_LABEL = 'http://www.w3.org/2000/01/rdf-schema#label';

/**
 * The facts about reference individuals that queries read from the data graph, for a snapshot to
 * carry: each individual's class (e.g. onz-zorg:instelling a onz-zorg:Leveringsvorm, which ZK 14.2
 * tests), its links to other individuals (onz-zorg:4VV onz-g:isAbout onz-zorg:VV) and its labels.
 * OWL bookkeeping (owl:NamedIndividual, comments) is left out.
 */
export function ontologyFacts(version: string, dir: string = ONTOLOGY_DIR): Quad[] {
  const quads = parseTurtleFiles(ontologyFiles(version, dir));
  const individuals = new Set(quads.filter((q) => q.predicate.value === RDF_TYPE && q.object.value === `${OWL}NamedIndividual`).map((q) => q.subject.value));
  return quads.filter((q) => {
    if (!individuals.has(q.subject.value)) return false;
    if (q.predicate.value === RDF_TYPE) return !q.object.value.startsWith(OWL);
    return q.predicate.value === RDFS_LABEL || /^http:\/\/purl\.org\/ozo\/onz-[a-z]+#/.test(q.predicate.value) || q.predicate.value.startsWith('https://w3id.org/kikv-agent/ext#');
  });
}
