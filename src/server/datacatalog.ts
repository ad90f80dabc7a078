import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type * as JsonLdLibrary from 'jsonld';
import { DataFactory, Parser, Writer, type Quad } from 'n3';
import type { Db } from '../db/open.js';
import { jsonLdLibrary } from '../exchange/jsonld.js';
import type { ProfileHeader } from '../indicators/pack.js';
import { ONTOLOGY_DIR, ontologyFolder } from '../validation/ontology.js';

const { namedNode, literal, quad } = DataFactory;

/** The KIK-V validated-query protocol our /didcomm endpoint speaks. */
export const VALIDATED_QUERY_PROTOCOL = 'https://www.kik-v.nl/validated-query-request/1.0';

export const TURTLE = 'text/turtle';
export const JSON_LD = 'application/ld+json';
export const CATALOG_TYPES = [TURTLE, JSON_LD] as const;

const NS = {
  dcat: 'http://www.w3.org/ns/dcat#',
  dct: 'http://purl.org/dc/terms/',
  foaf: 'http://xmlns.com/foaf/0.1/',
  owl: 'http://www.w3.org/2002/07/owl#',
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  xsd: 'http://www.w3.org/2001/XMLSchema#',
} as const;

/** One ontology module a dataset conforms to, as credentials name it: `<module IRI>#<version>`. */
export interface OntologyModule {
  /** The module's IRI without version, e.g. http://purl.org/ozo/onz-g. */
  iri: string;
  version: string;
}

/** Everything the catalogue says, as plain data: organisation-level facts only, nothing personal. */
export interface CatalogInput {
  publisher: { did: string; name: string };
  /** The server's public base URL (https://datastation.example). */
  publicUrl: string;
  /** One dataset per ontology version the snapshots were mapped with. */
  datasets: Array<{ ontology: string; modified: string; modules: OntologyModule[] }>;
  /** The exchange profiles we answer (from the configured packs). */
  profiles: Array<Pick<ProfileHeader, 'iri' | 'name' | 'version'>>;
}

const moduleCache = new Map<string, OntologyModule[]>();

/**
 * The official modules an installed ontology version declares: each file's owl:Ontology header
 * names the official module (rdfs:seeAlso) and its version (owl:versionInfo).
 */
export function ontologyModules(version: string, dir: string = ONTOLOGY_DIR): OntologyModule[] {
  const folder = join(dir, ontologyFolder(version));
  const cached = moduleCache.get(folder);
  if (cached) return cached;
  const modules: OntologyModule[] = [];
  if (existsSync(folder)) {
    for (const file of readdirSync(folder).filter((n) => n.endsWith('.ttl')).sort()) {
      const quads = new Parser().parse(readFileSync(join(folder, file), 'utf8'));
      for (const header of quads.filter((q) => q.predicate.value === `${NS.rdf}type` && q.object.value === `${NS.owl}Ontology`)) {
        const about = (p: string) => quads.find((q) => q.subject.equals(header.subject) && q.predicate.value === p)?.object.value;
        const official = about('http://www.w3.org/2000/01/rdf-schema#seeAlso');
        const v = about(`${NS.owl}versionInfo`);
        if (official && v) modules.push({ iri: official, version: v });
      }
    }
  }
  moduleCache.set(folder, modules);
  return modules;
}

/** The catalogue's facts from the database (snapshots) and the configured packs. */
export function catalogInput(db: Db, opts: { did: string; name: string; publicUrl: string; profiles: CatalogInput['profiles']; ontologyDir?: string }): CatalogInput {
  const rows = db.prepare('SELECT ontology_version AS ontology, MAX(created_at) AS modified FROM snapshots GROUP BY ontology_version ORDER BY ontology_version').all() as Array<{ ontology: string; modified: string }>;
  return {
    publisher: { did: opts.did, name: opts.name },
    publicUrl: opts.publicUrl,
    // Stored times are ISO strings; written back through Date so dct:modified is always a valid xsd:dateTime.
    datasets: rows.map((r) => ({ ontology: r.ontology, modified: Number.isNaN(Date.parse(r.modified)) ? r.modified : new Date(r.modified).toISOString(), modules: ontologyModules(r.ontology, opts.ontologyDir) })),
    profiles: opts.profiles,
  };
}

/** The DCAT 2 catalogue as quads. Every node is named (no blank nodes), so graphs compare as sets. */
export function catalogQuads(c: CatalogInput): Quad[] {
  const base = `${c.publicUrl.replace(/\/+$/, '')}/datacatalog`;
  const q: Quad[] = [];
  // Datasets may share a standard (the same module version): each statement is made once.
  const seen = new Set<string>();
  const add = (s: string, p: string, o: ReturnType<typeof namedNode> | ReturnType<typeof literal>) => {
    const key = `${s} ${p} ${o.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    q.push(quad(namedNode(s), namedNode(p), o));
  };
  const a = (s: string, type: string) => add(s, `${NS.rdf}type`, namedNode(type));
  const catalog = base;
  const service = `${base}#validated-query-service`;
  const publisher = c.publisher.did;

  a(catalog, `${NS.dcat}Catalog`);
  add(catalog, `${NS.dct}title`, literal(`KIK-V datastation of ${c.publisher.name}`, 'en'));
  add(catalog, `${NS.dct}publisher`, namedNode(publisher));
  add(catalog, `${NS.dcat}service`, namedNode(service));
  const latest = c.datasets.map((d) => d.modified).sort().at(-1);
  if (latest) add(catalog, `${NS.dct}modified`, literal(latest, namedNode(`${NS.xsd}dateTime`)));

  a(publisher, `${NS.foaf}Agent`);
  add(publisher, `${NS.foaf}name`, literal(c.publisher.name));

  a(service, `${NS.dcat}DataService`);
  add(service, `${NS.dct}title`, literal('KIK-V validated-query service (DIDComm)', 'en'));
  add(service, `${NS.dcat}endpointURL`, namedNode(`${c.publicUrl.replace(/\/+$/, '')}/didcomm`));
  add(service, `${NS.dct}conformsTo`, namedNode(VALIDATED_QUERY_PROTOCOL));
  add(service, `${NS.dct}publisher`, namedNode(publisher));
  for (const p of c.profiles) {
    add(service, `${NS.dct}conformsTo`, namedNode(p.iri));
    a(p.iri, `${NS.dct}Standard`);
    add(p.iri, `${NS.dct}title`, literal(p.name));
    add(p.iri, `${NS.owl}versionInfo`, literal(p.version));
  }

  for (const d of c.datasets) {
    const dataset = `${base}#dataset-${encodeURIComponent(d.ontology)}`;
    const distribution = `${base}#distribution-${encodeURIComponent(d.ontology)}`;
    a(dataset, `${NS.dcat}Dataset`);
    add(catalog, `${NS.dcat}dataset`, namedNode(dataset));
    add(service, `${NS.dcat}servesDataset`, namedNode(dataset));
    add(dataset, `${NS.dct}title`, literal(`Care-provider data mapped to ${d.ontology}`, 'en'));
    add(dataset, `${NS.dct}publisher`, namedNode(publisher));
    add(dataset, `${NS.dct}modified`, literal(d.modified, namedNode(`${NS.xsd}dateTime`)));
    add(dataset, `${NS.dcat}distribution`, namedNode(distribution));
    a(distribution, `${NS.dcat}Distribution`);
    add(distribution, `${NS.dcat}accessService`, namedNode(service));
    for (const m of d.modules) {
      const standard = `${m.iri}#${m.version}`;
      add(dataset, `${NS.dct}conformsTo`, namedNode(standard));
      a(standard, `${NS.dct}Standard`);
      add(standard, `${NS.owl}versionInfo`, literal(m.version));
      add(standard, `${NS.dct}isVersionOf`, namedNode(m.iri));
    }
  }
  return q;
}

/** Turtle from the quads (n3's Writer), with the usual prefixes. */
export function catalogTurtle(quads: Quad[]): Promise<string> {
  const writer = new Writer({ prefixes: { ...NS } });
  // Statements grouped by subject (in order of first mention), so each resource is one Turtle block.
  const order = new Map<string, number>();
  for (const q of quads) if (!order.has(q.subject.id)) order.set(q.subject.id, order.size);
  writer.addQuads([...quads].sort((a, b) => order.get(a.subject.id)! - order.get(b.subject.id)!));
  return new Promise((resolve, reject) => writer.end((err, out) => (err ? reject(err) : resolve(out))));
}

/** The JSON-LD context the catalogue is compacted with; local, so nothing is fetched. */
export const CATALOG_CONTEXT = {
  ...NS,
  modified: { '@id': 'dct:modified', '@type': 'xsd:dateTime' },
} as const;

/** JSON-LD from the same quads (via N-Quads), compacted with the local context; never fetches a document. */
export async function catalogJsonLd(quads: Quad[]): Promise<object> {
  const nquads = await new Promise<string>((resolve, reject) => {
    const w = new Writer({ format: 'N-Quads' });
    w.addQuads(quads);
    w.end((err, out) => (err ? reject(err) : resolve(out)));
  });
  const noFetch = async (url: string): Promise<never> => {
    throw new Error(`the catalogue does not fetch JSON-LD documents (${url})`);
  };
  const jsonld = jsonLdLibrary();
  const expanded = await jsonld.fromRDF(nquads, { format: 'application/n-quads' });
  return jsonld.compact(expanded, CATALOG_CONTEXT as unknown as JsonLdLibrary.ContextDefinition, { documentLoader: noFetch as never });
}

/**
 * The representation an Accept header asks for. Each supported type takes the q of the most specific
 * range that matches it (RFC 9110 §12.5.1); the highest q wins, ties go to the order of
 * CATALOG_TYPES (Turtle first). No header means Turtle; undefined when no supported type is acceptable.
 */
export function negotiate(accept: string | undefined): (typeof CATALOG_TYPES)[number] | undefined {
  if (!accept || !accept.trim()) return TURTLE;
  const ranges = accept.split(',').map((part) => {
    const [range = '', ...params] = part.trim().toLowerCase().split(';').map((x) => x.trim());
    const q = Number(params.find((x) => x.startsWith('q='))?.slice(2) ?? '1');
    return { range, q: Number.isFinite(q) ? q : 0 };
  });
  let best: { type: (typeof CATALOG_TYPES)[number]; q: number } | undefined;
  for (const type of CATALOG_TYPES) {
    const specificity = (range: string) => (range === type ? 2 : range === `${type.split('/')[0]}/*` ? 1 : range === '*/*' ? 0 : -1);
    const match = ranges.filter((r) => specificity(r.range) >= 0).sort((x, y) => specificity(y.range) - specificity(x.range))[0];
    if (match && match.q > 0 && (!best || match.q > best.q)) best = { type, q: match.q };
  }
  return best?.type;
}

export interface DatacatalogDeps {
  db: Db;
  did: string;
  /** The provider's (organisation's) name. */
  name: string;
  publicUrl: string;
  /** The configured packs' profile headers (loadPack(...).manifest.profile). */
  profiles: CatalogInput['profiles'];
  ontologyDir?: string;
}

/** GET /datacatalog: the DCAT 2 catalogue of our datasets and the validated-query service. */
export function datacatalogRoutes(deps: DatacatalogDeps): FastifyPluginAsync {
  return async (app) => {
    app.get(
      '/datacatalog',
      {
        schema: {
          description: `DCAT 2 catalogue; ${CATALOG_TYPES.join(' or ')} by content negotiation (Turtle by default)`,
          headers: { type: 'object', properties: { accept: { type: 'string' } } },
          produces: [...CATALOG_TYPES],
          response: {
            200: { type: 'string', description: 'the catalogue in Turtle or JSON-LD' },
            406: {
              type: 'object',
              required: ['error', 'supported'],
              properties: { error: { type: 'string' }, supported: { type: 'array', items: { type: 'string' } } },
            },
          },
        },
      },
      async (req, reply) => {
        const type = negotiate(req.headers.accept);
        reply.header('vary', 'Accept');
        if (!type) {
          return reply.code(406).send({ error: `the catalogue is available as ${CATALOG_TYPES.join(' and ')}; the Accept header "${req.headers.accept}" names neither`, supported: [...CATALOG_TYPES] });
        }
        const quads = catalogQuads(catalogInput(deps.db, deps));
        if (type === TURTLE) return reply.type(`${TURTLE}; charset=utf-8`).send(await catalogTurtle(quads));
        return reply.type(JSON_LD).send(JSON.stringify(await catalogJsonLd(quads)));
      },
    );
  };
}
