import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { Parser as TurtleParser, Store, type Quad, type Term } from 'n3';
import sparqljs from 'sparqljs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { NS } from '../src/ontology/namespaces.js';
import { ONTOLOGY_DIR, ontologyFacts, ontologyFiles, ontologyVersions, parseTurtleFiles } from '../src/validation/ontology.js';

/**
 * Every ONZ or extension term the project uses must be declared in ontology/ with its exact IRI.
 * The terms are extracted from the shipped mapping (RML and the YAML rules), the reference code lists,
 * the profile packs (queries/**) and the official KIK-V queries; a term used anywhere but declared
 * nowhere fails this test.
 */

const ROOT = resolve(import.meta.dirname, '..');
const OFFICIAL = resolve(ROOT, '../shared/kikv-official/zorgkantoren-1.3.4');
const VERSION = 'onz-3.0.0';

const RDF_TYPE = `${NS.rdf}type`;
const DECLARING_TYPES = new Set([
  `${NS.owl}Class`,
  `${NS.owl}ObjectProperty`,
  `${NS.owl}DatatypeProperty`,
  `${NS.owl}AnnotationProperty`,
  `${NS.owl}NamedIndividual`,
  `${NS.rdfs}Class`,
  `${NS.rdf}Property`,
]);

/** An IRI we must declare: a term (with a local name) in an ONZ module or in the extension namespace. */
function isOurTerm(iri: string): boolean {
  if (iri.startsWith(NS.ext)) return iri.length > NS.ext.length;
  const m = /^http:\/\/purl\.org\/ozo\/onz-[a-z]+#(.+)$/.exec(iri);
  return m !== null;
}

type Uses = Map<string, Set<string>>;
function use(uses: Uses, iri: string, where: string): void {
  if (!isOurTerm(iri)) return;
  let s = uses.get(iri);
  if (!s) uses.set(iri, (s = new Set()));
  s.add(where);
}

function termsOfQuads(quads: Iterable<Quad>, uses: Uses, where: string): void {
  for (const q of quads) for (const t of [q.subject, q.predicate, q.object, q.graph] as Term[]) if (t.termType === 'NamedNode') use(uses, t.value, where);
}

/** Every named node anywhere in a parsed SPARQL query (patterns, paths, VALUES, expressions). */
function termsOfSparqlJson(node: unknown, uses: Uses, where: string): void {
  if (Array.isArray(node)) {
    for (const n of node) termsOfSparqlJson(n, uses, where);
  } else if (node !== null && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (o.termType === 'NamedNode' && typeof o.value === 'string') use(uses, o.value, where);
    for (const [k, v] of Object.entries(o)) if (k !== 'prefixes') termsOfSparqlJson(v, uses, where);
  }
}

function termsOfSparql(text: string, uses: Uses, where: string): void {
  const parsed = new sparqljs.Parser({ skipUngroupedVariableCheck: true }).parse(text);
  termsOfSparqlJson(parsed, uses, where);
}

/** CURIEs with a known prefix ("onz-g:startDatum") and absolute IRIs in free text (YAML values, Markdown links). */
function termsOfText(text: string, prefixes: Record<string, string>, uses: Uses, where: string): void {
  for (const m of text.matchAll(/(?<![\w/#-])([a-z][\w-]*):([A-Za-z0-9_][\w.-]*[\w-]|[A-Za-z0-9_])(?![{\w])/g)) {
    const ns = prefixes[m[1]!];
    if (ns) use(uses, ns + m[2]!, where);
  }
  for (const m of text.matchAll(/(?:https?:\/\/[^\s)"'<>{}`]+)/g)) if (!m[0].includes('{')) use(uses, m[0], where);
}

function walkYaml(v: unknown, f: (s: string) => void): void {
  if (typeof v === 'string') f(v);
  else if (Array.isArray(v)) v.forEach((x) => walkYaml(x, f));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (f(k), walkYaml(x, f));
}

function filesUnder(dir: string, ext: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

function rel(p: string): string {
  return p.startsWith(ROOT) ? p.slice(ROOT.length + 1) : p;
}

// ---------------------------------------------------------------- what the project uses

const RML = join(ROOT, 'config/mappings/onz.rml.ttl');
const RML_NS = 'http://w3id.org/rml/';

/** The staging tables: file name -> column -> code values (for IRIs built from a code column). */
function stagingCodes(): Map<string, Map<string, string[] | null>> {
  const doc = parseYaml(readFileSync(join(ROOT, 'config/staging.yaml'), 'utf8')) as {
    tables: Record<string, { file: string; columns: Record<string, { type: string; values?: string[] }> }>;
  };
  const out = new Map<string, Map<string, string[] | null>>();
  for (const t of Object.values(doc.tables)) {
    out.set(t.file, new Map(Object.entries(t.columns).map(([c, spec]) => [c, spec.type === 'code' ? (spec.values ?? []) : null])));
  }
  return out;
}

function rmlUses(uses: Uses): void {
  const quads = new TurtleParser({ format: 'text/turtle' }).parse(readFileSync(RML, 'utf8'));
  termsOfQuads(quads, uses, rel(RML));
  // Templates that build an ONZ/ext IRI from a column ("http://purl.org/ozo/onz-fin#{rgs_code}"): every code
  // the staging schema allows in that column becomes a term the data uses.
  const store = new Store(quads);
  const codes = stagingCodes();
  for (const q of store.getQuads(null, `${RML_NS}template`, null, null)) {
    const m = /^(.*?[#/])\{([^}]+)\}$/.exec(q.object.value);
    if (!m || !isOurTerm(`${m[1]}x`)) continue;
    // Walk up from the term map to the triples map that owns it, then to its logical source's file.
    let node: Term = q.subject;
    for (let i = 0; i < 4 && store.getQuads(node, `${RML_NS}logicalSource`, null, null).length === 0; i++) {
      const up: Quad | undefined = store.getQuads(null, null, node, null)[0];
      if (!up) break;
      node = up.subject;
    }
    const source = store.getObjects(node, `${RML_NS}logicalSource`, null)[0];
    const path = source && store.getObjects(store.getObjects(source, `${RML_NS}source`, null)[0] ?? null, `${RML_NS}path`, null)[0]?.value;
    const values = path ? codes.get(path)?.get(m[2]!) : undefined;
    if (!values) throw new Error(`${rel(RML)}: template "${q.object.value}" builds ONZ IRIs from column ${m[2]} of ${path ?? '?'}, which is not a code column of config/staging.yaml`);
    for (const v of values) use(uses, m[1]! + v, `${rel(RML)} (template ${q.object.value}, staging code ${v})`);
  }
}

function referenceCsvUses(uses: Uses): void {
  for (const f of filesUnder(join(ROOT, 'config/mappings/reference'), '.csv')) {
    for (const line of readFileSync(f, 'utf8').split(/\r?\n/)) for (const cell of line.split(',')) use(uses, cell.trim(), rel(f));
  }
}

function packUses(uses: Uses): void {
  const dir = join(ROOT, 'queries');
  for (const f of filesUnder(dir, '.rq')) termsOfSparql(readFileSync(f, 'utf8'), uses, rel(f));
  for (const f of filesUnder(dir, '.ttl')) termsOfQuads(new TurtleParser({ format: 'text/turtle' }).parse(readFileSync(f, 'utf8')), uses, rel(f));
  for (const f of [...filesUnder(dir, '.yaml'), ...filesUnder(dir, '.yml')]) walkYaml(parseYaml(readFileSync(f, 'utf8')), (s) => termsOfText(s, NS, uses, rel(f)));
}

function officialUses(uses: Uses): void {
  for (const f of filesUnder(OFFICIAL, '.rq')) termsOfSparql(readFileSync(f, 'utf8'), uses, `official ${basename(f)}`);
  for (const f of filesUnder(OFFICIAL, '.ttl')) termsOfQuads(new TurtleParser({ format: 'text/turtle' }).parse(readFileSync(f, 'utf8')), uses, `official ${basename(f)}`);
  for (const f of filesUnder(OFFICIAL, '.md')) {
    for (const m of readFileSync(f, 'utf8').matchAll(/\]\(\s*(http:\/\/purl\.org\/ozo\/[^)\s]+)\)/g)) use(uses, m[1]!, `official ${basename(f)}`);
  }
}

// ---------------------------------------------------------------- what is declared

function declarations(version: string): { store: Store; declared: Set<string>; files: string[] } {
  const files = ontologyFiles(version);
  const store = new Store(parseTurtleFiles(files));
  const declared = new Set<string>();
  for (const q of store.getQuads(null, RDF_TYPE, null, null)) if (DECLARING_TYPES.has(q.object.value)) declared.add(q.subject.value);
  return { store, declared, files };
}

function undeclared(uses: Uses, declared: Set<string>): string[] {
  return [...uses.entries()].filter(([iri]) => !declared.has(iri)).map(([iri, where]) => `${iri}  (used in ${[...where].slice(0, 3).join(', ')})`);
}

describe('ontology/', () => {
  it('has the ONZ 3.0.0 declarations, the extension and the shapes side by side', () => {
    expect(ontologyVersions()).toContain(VERSION);
    expect(existsSync(join(ONTOLOGY_DIR, 'ext'))).toBe(true);
    expect(existsSync(join(ONTOLOGY_DIR, 'shapes', VERSION))).toBe(true);
  });

  it('parses every Turtle file', () => {
    const files = filesUnder(ONTOLOGY_DIR, '.ttl');
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) expect(() => parseTurtleFiles([f]), f).not.toThrow();
  });

  it('names the version it follows on an owl:Ontology header in every declaration file', () => {
    for (const version of ontologyVersions()) {
      const expected = version.replace(/^[a-z0-9-]+?-(?=\d)/, '');
      for (const f of filesUnder(join(ONTOLOGY_DIR, version), '.ttl')) {
        const store = new Store(parseTurtleFiles([f]));
        const heads = store.getSubjects(RDF_TYPE, `${NS.owl}Ontology`, null);
        expect(heads, f).toHaveLength(1);
        expect(store.getObjects(heads[0]!, `${NS.owl}versionInfo`, null).map((o) => o.value), f).toEqual([expected]);
      }
    }
    const ext = new Store(parseTurtleFiles(filesUnder(join(ONTOLOGY_DIR, 'ext'), '.ttl')));
    const head = ext.getSubjects(RDF_TYPE, `${NS.owl}Ontology`, null);
    expect(head).toHaveLength(1);
    expect(ext.getObjects(head[0]!, `${NS.owl}versionInfo`, null)).toHaveLength(1);
  });

  it('declares each term once, in the file of its own namespace, with a label; extension terms also say what they mean', () => {
    const { files } = declarations(VERSION);
    const seen = new Map<string, string>();
    for (const f of files) {
      const store = new Store(parseTurtleFiles([f]));
      for (const q of store.getQuads(null, RDF_TYPE, null, null)) {
        if (!DECLARING_TYPES.has(q.object.value) || !isOurTerm(q.subject.value)) continue;
        const iri = q.subject.value;
        const prev = seen.get(iri);
        if (prev && prev !== f) throw new Error(`${iri} is declared in ${rel(prev)} and ${rel(f)}`);
        seen.set(iri, f);
        const module = iri.startsWith(NS.ext) ? 'kikv-ext' : /onz-[a-z]+/.exec(iri)![0];
        expect(basename(f, '.ttl'), `${iri} belongs in ${module}.ttl`).toBe(module);
        expect(store.getObjects(q.subject, `${NS.rdfs}label`, null).length, `${iri} has no rdfs:label`).toBeGreaterThan(0);
        if (iri.startsWith(NS.ext)) expect(store.getObjects(q.subject, `${NS.rdfs}comment`, null).length, `${iri} has no rdfs:comment`).toBeGreaterThan(0);
      }
    }
  });

  it('only uses declared classes in subclass axioms, and has no subclass cycles', () => {
    const { store, declared } = declarations(VERSION);
    for (const q of store.getQuads(null, `${NS.rdfs}subClassOf`, null, null)) {
      expect(declared.has(q.subject.value), q.subject.value).toBe(true);
      expect(declared.has(q.object.value), q.object.value).toBe(true);
    }
    const supers = (c: string, seen = new Set<string>()): Set<string> => {
      for (const s of store.getObjects(c, `${NS.rdfs}subClassOf`, null)) {
        if (s.value === c || seen.has(s.value)) continue;
        seen.add(s.value);
        supers(s.value, seen);
      }
      return seen;
    };
    for (const c of store.getSubjects(RDF_TYPE, `${NS.owl}Class`, null)) expect(supers(c.value).has(c.value), c.value).toBe(false);
  });

  it('the reference code lists materialise every superclass the ontology gives a class (queries do not reason)', () => {
    const { store } = declarations(VERSION);
    const closure = (c: string): string[] => [c, ...store.getObjects(c, `${NS.rdfs}subClassOf`, null).flatMap((s) => closure(s.value))];
    for (const file of ['agreement-classes.csv', 'function-classes.csv', 'absence-classes.csv', 'observation-classes.csv', 'discussion-classes.csv']) {
      const [header, ...rows] = readFileSync(join(ROOT, 'config/mappings/reference', file), 'utf8').trim().split(/\r?\n/);
      const cols = header!.split(',');
      const byKey = new Map<string, Set<string>>();
      for (const r of rows) {
        const cells = r.split(',');
        const key = cells[0]!;
        const cls = cells[cols.indexOf('class')]!;
        byKey.set(key, (byKey.get(key) ?? new Set()).add(cls));
      }
      for (const [key, classes] of byKey) {
        for (const c of classes) {
          // The extension's grouping superclasses (ext:ClientObservatie, ext:AfdelingsBespreking) exist for the
          // shapes, not for queries, and are not materialised.
          const needed = closure(c).filter((s) => !s.startsWith(NS.ext));
          for (const s of needed) expect(classes.has(s), `${file} ${key}: ${c} needs its superclass ${s} too`).toBe(true);
        }
      }
    }
  });
});

describe('reference facts for snapshots', () => {
  it('gives the individual facts queries read from the data (ZK 14.2: care profile about VV, delivery forms typed)', () => {
    const facts = new Store(ontologyFacts(VERSION));
    expect(facts.countQuads(`${NS['onz-zorg']}4VV`, `${NS['onz-g']}isAbout`, `${NS['onz-zorg']}VV`, null)).toBe(1);
    expect(facts.countQuads(`${NS['onz-zorg']}VV`, RDF_TYPE, `${NS['onz-zorg']}LangdurigeZorgSector`, null)).toBe(1);
    expect(facts.countQuads(`${NS['onz-zorg']}instelling`, RDF_TYPE, `${NS['onz-zorg']}Leveringsvorm`, null)).toBe(1);
    expect(facts.countQuads(`${NS.ext}EenOpEenToezicht`, `${NS.rdfs}label`, null, null)).toBe(2);
    // No class or property declarations, no OWL bookkeeping, no comments.
    expect(facts.countQuads(null, RDF_TYPE, `${NS.owl}NamedIndividual`, null)).toBe(0);
    expect(facts.countQuads(`${NS['onz-pers']}ArbeidsOvereenkomst`, null, null, null)).toBe(0);
    expect(facts.countQuads(null, `${NS.rdfs}comment`, null, null)).toBe(0);
  });
});

describe('every ONZ and extension term in use is declared', () => {
  const { declared } = declarations(VERSION);

  it('in the RML mapping (config/mappings/onz.rml.ttl), including IRIs built from staging code lists', () => {
    const uses: Uses = new Map();
    rmlUses(uses);
    expect(uses.size).toBeGreaterThan(40);
    expect(uses.has(`${NS['onz-fin']}WBedOvpUik`)).toBe(true);
    expect(undeclared(uses, declared)).toEqual([]);
  });

  it('in the reference code lists (config/mappings/reference/*.csv)', () => {
    const uses: Uses = new Map();
    referenceCsvUses(uses);
    expect(uses.has(`${NS['onz-zorg']}4VV`)).toBe(true);
    expect(uses.has(`${NS.ext}verblijfMetBehandeling`)).toBe(true);
    expect(undeclared(uses, declared)).toEqual([]);
  });

  it('in the profile packs (queries/**: queries, shapes, manifests)', () => {
    const uses: Uses = new Map();
    packUses(uses);
    expect(uses.has(`${NS['onz-pers']}WerkOvereenkomstAfspraak`)).toBe(true);
    expect(undeclared(uses, declared)).toEqual([]);
  });

  it('in the SHACL shapes (ontology/shapes/**)', () => {
    const uses: Uses = new Map();
    for (const f of filesUnder(join(ONTOLOGY_DIR, 'shapes'), '.ttl')) termsOfQuads(parseTurtleFiles([f]), uses, rel(f));
    expect(uses.has(`${NS.ext}DecubitusObservatie`)).toBe(true);
    expect(undeclared(uses, declared)).toEqual([]);
  });

  it('in the official KIK-V queries (Zorgkantoren 1.3.4: queries, parameter shapes, concept lists)', () => {
    const uses: Uses = new Map();
    officialUses(uses);
    expect(uses.has(`${NS['onz-zorg']}LangdurigeZorgSector`)).toBe(true);
    expect(uses.has(`${NS['onz-org']}ZorgkantoorZorgEnZekerheid`)).toBe(true);
    expect(undeclared(uses, declared)).toEqual([]);
  });

  it('the check itself catches a term nobody declared', () => {
    const uses: Uses = new Map();
    termsOfSparql('PREFIX onz-g: <http://purl.org/ozo/onz-g#> SELECT ?x WHERE { ?x a onz-g:Human ; onz-g:heeftSchoenmaat ?m }', uses, 'probe');
    termsOfText('class: ext:NietBestaand', NS, uses, 'probe');
    expect(undeclared(uses, declared).map((s) => s.split(' ')[0])).toEqual([`${NS['onz-g']}heeftSchoenmaat`, `${NS.ext}NietBestaand`]);
  });
});

