import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type * as JsonLd from 'jsonld';
import { Parser, type Quad } from 'n3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb, type Db } from '../src/db/open.js';
import { loadPack } from '../src/indicators/pack.js';
import { jsonLdLibrary } from '../src/exchange/jsonld.js';
import { VALIDATED_QUERY_PROTOCOL, datacatalogRoutes, negotiate } from '../src/server/datacatalog.js';
import { ONTOLOGY_DIR } from '../src/validation/ontology.js';
import { ROOT, tempDir } from './helpers.js';

const DID = 'did:web:zorgaanbieder.example';
const PUBLIC = 'https://datastation.zorgaanbieder.example';
const DCAT = 'http://www.w3.org/ns/dcat#';
const DCT = 'http://purl.org/dc/terms/';
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type';
const SOURCE_PATH = '/srv/ecd-export/clienten-2024';

/** A quad as one N-Triples-like line; the catalogue has no blank nodes, so sets of lines compare graphs. */
const line = (q: Quad) => `${q.subject.id} ${q.predicate.id} ${q.object.id}`;

describe('GET /datacatalog', () => {
  let db: Db;
  let app: FastifyInstance;
  let url = '';
  const pack = loadPack(join(ROOT, 'queries'), 'zorginstituut-verpleeghuiszorg', '2023.1.0');

  beforeAll(async () => {
    // Two ontology versions side by side: the shipped one and a copy labelled 3.1.0.
    const ontologyDir = tempDir();
    cpSync(join(ONTOLOGY_DIR, 'onz-3.0.0'), join(ontologyDir, 'onz-3.0.0'), { recursive: true });
    mkdirSync(join(ontologyDir, 'onz-3.1.0'));
    writeFileSync(join(ontologyDir, 'onz-3.1.0', 'onz-g.ttl'), readFileSync(join(ONTOLOGY_DIR, 'onz-3.0.0', 'onz-g.ttl'), 'utf8').replace('owl:versionInfo "3.0.0"', 'owl:versionInfo "3.1.0"'));
    db = openDb(tempDir());
    const snap = db.prepare(`INSERT INTO snapshots VALUES (?, ?, 10, ?, ?, '/data/reports/r.json', 5, 5, 0)`);
    snap.run('a'.repeat(64), '2024-03-01T10:00:00.000Z', SOURCE_PATH, 'onz-3.0.0');
    snap.run('b'.repeat(64), '2024-03-08T10:00:00.000Z', SOURCE_PATH, 'onz-3.0.0');
    snap.run('c'.repeat(64), '2024-02-01T09:00:00.000Z', SOURCE_PATH, 'onz-3.1.0');
    app = Fastify();
    await app.register(datacatalogRoutes({ db, did: DID, name: 'Zorggroep Voorbeeld', publicUrl: `${PUBLIC}/`, profiles: [pack.manifest.profile], ontologyDir }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/datacatalog`;
  });
  afterAll(async () => {
    await app.close();
    db.close();
  });

  const get = (accept?: string) => fetch(url, accept ? { headers: { accept } } : {});
  async function turtleQuads(): Promise<Quad[]> {
    const res = await get('text/turtle');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/turtle; charset=utf-8');
    return new Parser({ format: 'text/turtle' }).parse(await res.text());
  }
  const objects = (quads: Quad[], s: string, p: string) => quads.filter((q) => q.subject.value === s && q.predicate.value === p).map((q) => q.object.value).sort();

  it('is Turtle by default and for RDF clients, and says what the datastation offers', async () => {
    const plain = await get();
    expect(plain.headers.get('content-type')).toBe('text/turtle; charset=utf-8');
    expect(plain.headers.get('vary')).toBe('Accept');
    const quads = await turtleQuads();
    const catalog = `${PUBLIC}/datacatalog`;
    const service = `${catalog}#validated-query-service`;
    expect(objects(quads, catalog, RDF_TYPE)).toEqual([`${DCAT}Catalog`]);
    expect(objects(quads, catalog, `${DCT}publisher`)).toEqual([DID]);
    expect(objects(quads, catalog, `${DCT}modified`)).toEqual(['2024-03-08T10:00:00.000Z']);
    const datasets = objects(quads, catalog, `${DCAT}dataset`);
    expect(datasets).toEqual([`${catalog}#dataset-onz-3.0.0`, `${catalog}#dataset-onz-3.1.0`]);
    expect(objects(quads, datasets[0]!, `${DCT}conformsTo`)).toEqual(['http://purl.org/ozo/onz-fin#3.0.0', 'http://purl.org/ozo/onz-g#3.0.0', 'http://purl.org/ozo/onz-org#3.0.0', 'http://purl.org/ozo/onz-pers#3.0.0', 'http://purl.org/ozo/onz-zorg#3.0.0']);
    expect(objects(quads, datasets[0]!, `${DCT}modified`)).toEqual(['2024-03-08T10:00:00.000Z']);
    expect(objects(quads, datasets[1]!, `${DCT}modified`)).toEqual(['2024-02-01T09:00:00.000Z']);
    expect(objects(quads, datasets[1]!, `${DCT}conformsTo`)).toEqual(['http://purl.org/ozo/onz-g#3.1.0']);
    expect(objects(quads, 'http://purl.org/ozo/onz-g#3.0.0', `${DCT}isVersionOf`)).toEqual(['http://purl.org/ozo/onz-g']);
    expect(objects(quads, service, RDF_TYPE)).toEqual([`${DCAT}DataService`]);
    expect(objects(quads, service, `${DCAT}endpointURL`)).toEqual([`${PUBLIC}/didcomm`]);
    expect(objects(quads, service, `${DCT}conformsTo`)).toEqual([VALIDATED_QUERY_PROTOCOL, pack.manifest.profile.iri].sort());
    expect(objects(quads, service, `${DCAT}servesDataset`)).toEqual(datasets);
    expect(objects(quads, pack.manifest.profile.iri, 'http://www.w3.org/2002/07/owl#versionInfo')).toEqual(['2023.1.0']);
    const distribution = objects(quads, datasets[0]!, `${DCAT}distribution`)[0]!;
    expect(objects(quads, distribution, `${DCAT}accessService`)).toEqual([service]);
  });

  it('JSON-LD carries the same graph as the Turtle, with a local context', async () => {
    const res = await get('application/ld+json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/ld\+json/);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(typeof doc['@context']).toBe('object');
    const refuse = async (u: string) => {
      throw new Error(`tried to fetch ${u}`);
    };
    const nquads = (await jsonLdLibrary().toRDF(doc as JsonLd.JsonLdDocument, { format: 'application/n-quads', documentLoader: refuse as never })) as unknown as string;
    const fromJson = new Set(new Parser({ format: 'N-Quads' }).parse(nquads).map(line));
    const fromTurtle = new Set((await turtleQuads()).map(line));
    expect(fromTurtle.size).toBeGreaterThan(30);
    expect([...fromJson].sort()).toEqual([...fromTurtle].sort());
  });

  it('negotiates by q-value and refuses what it cannot produce with the supported types', async () => {
    expect(negotiate('application/ld+json;q=0.9, text/turtle;q=0.5')).toBe('application/ld+json');
    expect(negotiate('text/*')).toBe('text/turtle');
    expect(negotiate('*/*')).toBe('text/turtle');
    expect(negotiate('text/turtle;q=0, */*;q=0.8')).toBe('application/ld+json');
    expect(negotiate('application/*')).toBe('application/ld+json');
    expect(negotiate('text/html')).toBeUndefined();
    const res = await get('application/rdf+xml, text/html;q=0.5');
    expect(res.status).toBe(406);
    expect(await res.json()).toEqual({ error: expect.stringContaining('application/rdf+xml, text/html;q=0.5'), supported: ['text/turtle', 'application/ld+json'] });
  });

  it('holds only organisation-level facts: no source paths, no report files, only catalogue terms', async () => {
    const quads = await turtleQuads();
    const text = quads.map(line).join('\n');
    expect(text).not.toContain(SOURCE_PATH);
    expect(text).not.toContain('/data/reports');
    const allowed = new Set([RDF_TYPE, `${DCT}title`, `${DCT}publisher`, `${DCT}modified`, `${DCT}conformsTo`, `${DCT}isVersionOf`, `${DCAT}dataset`, `${DCAT}service`, `${DCAT}servesDataset`, `${DCAT}distribution`, `${DCAT}accessService`, `${DCAT}endpointURL`, 'http://xmlns.com/foaf/0.1/name', 'http://www.w3.org/2002/07/owl#versionInfo']);
    expect([...new Set(quads.map((q) => q.predicate.value))].filter((p) => !allowed.has(p))).toEqual([]);
  });
});
