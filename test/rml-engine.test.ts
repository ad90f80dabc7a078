import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startPostgresCluster } from '../src/conformance/postgres-cluster.js';
import { compileMapping, loadMapping, runMapping, RmlError, type LogicalSourceSpec, type RecordOrigin, type RunOptions } from '../src/mapping/rml/index.js';

const PREFIXES = `@prefix rml: <http://w3id.org/rml/> .
@prefix ex: <http://example.com/ns#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix csvw: <http://www.w3.org/ns/csvw#> .
`;

function dirWith(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kikv-rml-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
  return dir;
}

function csvSource(path: string, extra = ''): string {
  return `rml:logicalSource [ rml:referenceFormulation rml:CSV ; rml:source [ a rml:RelativePathSource ; rml:root rml:MappingDirectory ; rml:path "${path}" ${extra} ] ]`;
}

async function run(ttl: string, dir: string, extra: Partial<RunOptions> = {}) {
  const m = compileMapping(PREFIXES + ttl, join(dir, 'mapping.ttl'));
  const lines: Array<{ statement: string; origin: RecordOrigin }> = [];
  const stats = await runMapping(m, {
    baseIri: 'http://example.com/base/',
    mappingDirectory: dir,
    currentWorkingDirectory: dir,
    emit: (statement, origin) => lines.push({ statement, origin }),
    ...extra,
  });
  return { stats, lines, statements: lines.map((l) => l.statement).sort() };
}

const PEOPLE = 'id,name,dept\n1,Ann,10\n2,Bob,20\n3,Cas,10\n';
const DEPTS = 'code,label\n10,Care\n20,Finance\n';

const JOIN_MAPPING = `
<#People> a rml:TriplesMap ; ${csvSource('people.csv')} ;
  rml:subjectMap [ rml:template "person/{id}" ; rml:class ex:Person ] ;
  rml:predicateObjectMap [ rml:predicate ex:name ; rml:objectMap [ rml:reference "name" ] ] ;
  rml:predicateObjectMap [ rml:predicate ex:dept ; rml:objectMap [ rml:parentTriplesMap <#Depts> ; rml:joinCondition [ rml:child "dept" ; rml:parent "code" ] ] ] .
<#Depts> a rml:TriplesMap ; ${csvSource('depts.csv')} ;
  rml:subjectMap [ rml:template "dept/{code}" ] ;
  rml:predicateObjectMap [ rml:predicate ex:label ; rml:objectMap [ rml:reference "label" ; rml:language "nl" ] ] .
`;

describe('RML engine', () => {
  it('maps CSV with a join and reports the origin of every statement', async () => {
    const dir = dirWith({ 'people.csv': PEOPLE, 'depts.csv': DEPTS });
    const { stats, lines, statements } = await run(JOIN_MAPPING, dir);
    expect(statements).toContain('<http://example.com/base/person/1> <http://example.com/ns#dept> <http://example.com/base/dept/10> .');
    expect(statements).toContain('<http://example.com/base/person/3> <http://example.com/ns#dept> <http://example.com/base/dept/10> .');
    expect(statements).toContain('<http://example.com/base/person/2> <http://example.com/ns#dept> <http://example.com/base/dept/20> .');
    expect(statements).toContain('<http://example.com/base/dept/10> <http://example.com/ns#label> "Care"@nl .');
    expect(statements).toContain('<http://example.com/base/person/2> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://example.com/ns#Person> .');
    expect(stats.statements).toBe(lines.length);
    expect(stats.statements).toBe(3 * 3 + 2);
    const bob = lines.filter((l) => l.statement.startsWith('<http://example.com/base/person/2>'));
    expect(bob.every((l) => l.origin.source === 'people.csv' && l.origin.row === 2)).toBe(true);
    expect(stats.sources).toEqual(
      expect.arrayContaining([
        { label: 'people.csv', records: 3, statements: 9 },
        { label: 'depts.csv', records: 2, statements: 2 },
      ]),
    );
  });

  it('joins a source with itself (child before parent) and with several conditions', async () => {
    const dir = dirWith({ 'emp.csv': 'id,boss,site\n1,2,A\n2,,A\n3,2,B\n' });
    const ttl = `
<#Emp> a rml:TriplesMap ; ${csvSource('emp.csv', '; rml:null ""')} ;
  rml:subjectMap [ rml:template "e/{id}" ] ;
  rml:predicateObjectMap [ rml:predicate ex:boss ; rml:objectMap [ rml:parentTriplesMap <#Emp> ;
    rml:joinCondition [ rml:child "boss" ; rml:parent "id" ] , [ rml:child "site" ; rml:parent "site" ] ] ] .`;
    const { statements } = await run(ttl, dir);
    expect(statements).toEqual(['<http://example.com/base/e/1> <http://example.com/ns#boss> <http://example.com/base/e/2> .']);
  });

  it('reads each distinct logical source once and lets openSource supply records', async () => {
    const dir = dirWith({});
    const ttl = `
<#A> a rml:TriplesMap ; ${csvSource('x.csv')} ; rml:subjectMap [ rml:template "a/{k}" ] ;
  rml:predicateObjectMap [ rml:predicate ex:v ; rml:objectMap [ rml:reference "v" ] ] .
<#B> a rml:TriplesMap ; ${csvSource('x.csv')} ; rml:subjectMap [ rml:template "b/{k}" ] ;
  rml:predicateObjectMap [ rml:predicate ex:a ; rml:objectMap [ rml:parentTriplesMap <#A> ; rml:joinCondition [ rml:child "k" ; rml:parent "k" ] ] ] .
<#C> a rml:TriplesMap ; ${csvSource('x.csv', '; rml:null "skip"')} ; rml:subjectMap [ rml:template "c/{v}" ] .`;
    const m = compileMapping(PREFIXES + ttl, join(dir, 'mapping.ttl'));
    const specs = m.logicalSources({ mappingDirectory: dir, currentWorkingDirectory: dir });
    expect(specs).toHaveLength(2);
    expect(specs[0]!.source).toMatchObject({ kind: 'file', path: join(dir, 'x.csv'), declaredPath: 'x.csv', root: 'MappingDirectory', encoding: 'utf-8' });
    expect(new Set(specs.map((s) => s.label)).size).toBe(2);
    const opened: LogicalSourceSpec[] = [];
    const lines: string[] = [];
    const stats = await runMapping(m, {
      baseIri: 'http://e.org/',
      mappingDirectory: dir,
      currentWorkingDirectory: dir,
      openSource: (spec) => {
        opened.push(spec);
        return (async function* () {
          yield [
            { row: 1, values: { k: '1', v: 'one' } },
            { row: 2, values: { k: '2', v: 'skip' } },
          ];
        })();
      },
      emit: (s) => lines.push(s),
    });
    expect(opened).toHaveLength(2);
    expect(lines.sort()).toEqual([
      '<http://e.org/a/1> <http://example.com/ns#v> "one" .',
      '<http://e.org/a/2> <http://example.com/ns#v> "skip" .',
      '<http://e.org/b/1> <http://example.com/ns#a> <http://e.org/a/1> .',
      '<http://e.org/b/2> <http://example.com/ns#a> <http://e.org/a/2> .',
    ]);
    expect(stats.statements).toBe(4);
  });

  it('reports a data error per record through onRecordError and keeps going', async () => {
    const dir = dirWith({ 'p.csv': 'id,home\n1,http://ok.example/1\n2,not an iri\n3,http://ok.example/3\n' });
    const ttl = `<#P> a rml:TriplesMap ; ${csvSource('p.csv')} ; rml:subjectMap [ rml:template "p/{id}" ] ;
  rml:predicateObjectMap [ rml:predicate ex:home ; rml:objectMap [ rml:reference "home" ; rml:termType rml:IRI ] ] ;
  rml:predicateObjectMap [ rml:predicate ex:id ; rml:objectMap [ rml:reference "id" ; rml:datatype xsd:integer ] ] .`;
    const errors: Array<{ error: RmlError; origin: RecordOrigin }> = [];
    const { statements } = await run(ttl, dir, { onRecordError: (error, origin) => errors.push({ error, origin }) });
    expect(errors).toHaveLength(1);
    expect(errors[0]!.origin).toEqual({ source: 'p.csv', row: 2 });
    expect(errors[0]!.error.message).toMatch(/not valid/);
    expect(statements).toHaveLength(5);
    expect(statements).toContain('<http://example.com/base/p/2> <http://example.com/ns#id> "2"^^<http://www.w3.org/2001/XMLSchema#integer> .');
    await expect(run(ttl, dir)).rejects.toThrow(RmlError);
  });

  it('treats ill-typed literals and malformed CSV rows as data errors of their record', async () => {
    const dir = dirWith({ 'p.csv': 'id,born\n1,1990-02-28\n2,1990-02-30\n3,1990-03-01,extra\n4,2001-12-31\n' });
    const ttl = `<#P> a rml:TriplesMap ; ${csvSource('p.csv')} ; rml:subjectMap [ rml:template "p/{id}" ] ;
  rml:predicateObjectMap [ rml:predicate ex:born ; rml:objectMap [ rml:reference "born" ; rml:datatype xsd:date ] ] .`;
    const errors: Array<{ message: string; origin: RecordOrigin }> = [];
    const { statements, stats } = await run(ttl, dir, { onRecordError: (e, origin) => errors.push({ message: e.message, origin }) });
    expect(statements).toEqual([
      '<http://example.com/base/p/1> <http://example.com/ns#born> "1990-02-28"^^<http://www.w3.org/2001/XMLSchema#date> .',
      '<http://example.com/base/p/4> <http://example.com/ns#born> "2001-12-31"^^<http://www.w3.org/2001/XMLSchema#date> .',
    ]);
    expect(errors.map((e) => e.origin.row)).toEqual([2, 3]);
    expect(errors[0]!.message).toMatch(/"1990-02-30" is not a valid xsd:date/);
    expect(errors[1]!.message).toMatch(/3 fields where the header has 2/);
    expect(stats.sources).toEqual([{ label: 'p.csv', records: 4, statements: 2 }]);
  });

  it('reads JSON with an iterator and natural datatypes', async () => {
    const dir = dirWith({ 'd.json': JSON.stringify({ items: [{ id: 1, tags: ['a', 'b'], ok: true, w: 2.5 }, { id: 2, tags: [], ok: null }] }) });
    const ttl = `<#J> a rml:TriplesMap ; rml:logicalSource [ rml:referenceFormulation rml:JSONPath ; rml:iterator "$.items[*]" ;
    rml:source [ a rml:RelativePathSource ; rml:root rml:MappingDirectory ; rml:path "d.json" ] ] ;
  rml:subjectMap [ rml:template "i/{$.id}" ] ;
  rml:predicateObjectMap [ rml:predicate ex:tag ; rml:objectMap [ rml:template "tag/{$.tags[*]}" ] ] ;
  rml:predicateObjectMap [ rml:predicate ex:ok ; rml:objectMap [ rml:reference "$.ok" ] ] ;
  rml:predicateObjectMap [ rml:predicate ex:w ; rml:objectMap [ rml:reference "$.w" ] ] .`;
    const { statements, lines } = await run(ttl, dir);
    expect(statements).toEqual([
      '<http://example.com/base/i/1> <http://example.com/ns#ok> "true"^^<http://www.w3.org/2001/XMLSchema#boolean> .',
      '<http://example.com/base/i/1> <http://example.com/ns#tag> <http://example.com/base/tag/a> .',
      '<http://example.com/base/i/1> <http://example.com/ns#tag> <http://example.com/base/tag/b> .',
      '<http://example.com/base/i/1> <http://example.com/ns#w> "2.5"^^<http://www.w3.org/2001/XMLSchema#double> .',
    ]);
    expect(lines[0]!.origin).toEqual({ source: 'd.json', row: 1 });
  });

  it('reads windows-1252, UTF-8 with BOM and a custom delimiter', async () => {
    const dir = dirWith({
      'w.csv': Buffer.from([...Buffer.from('id;name\n1;Ren'), 0xe9, ...Buffer.from('\n')]),
      'b.csv': Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('id,name\n2,Zoë\n')]),
    });
    const ttl = `
<#W> a rml:TriplesMap ; ${csvSource('w.csv', '; csvw:encoding "windows-1252" ; csvw:dialect [ csvw:delimiter ";" ]')} ;
  rml:subjectMap [ rml:template "p/{id}" ] ; rml:predicateObjectMap [ rml:predicate ex:name ; rml:objectMap [ rml:reference "name" ] ] .
<#B> a rml:TriplesMap ; ${csvSource('b.csv', '; rml:encoding rml:UTF-8')} ;
  rml:subjectMap [ rml:template "p/{id}" ] ; rml:predicateObjectMap [ rml:predicate ex:name ; rml:objectMap [ rml:reference "name" ] ] .`;
    const { statements } = await run(ttl, dir);
    expect(statements).toEqual([
      '<http://example.com/base/p/1> <http://example.com/ns#name> "René" .',
      '<http://example.com/base/p/2> <http://example.com/ns#name> "Zoë" .',
    ]);
  });

  it('reads PostgreSQL tables and queries with the natural datatypes of their columns', async () => {
    const cluster = await startPostgresCluster();
    try {
      const client = new pg.Client({ host: cluster.host, port: cluster.port, user: cluster.user, password: cluster.password, database: cluster.database });
      await client.connect();
      await client.query(`CREATE TABLE "Staff" (id integer, name text, rate double precision, pay numeric(8,2), active boolean, born date, note text)`);
      await client.query(`INSERT INTO "Staff" VALUES (1, 'Ann', 0.5, 1234.50, true, '1980-02-29', NULL), (2, 'Bob', 12, 10, false, '1990-01-01', 'x')`);
      await client.end();
      const dsn = `jdbc:postgresql://${cluster.host}:${cluster.port}/${cluster.database}`;
      const db = `rml:source [ a rml:Source, d2rq:Database ; d2rq:jdbcDSN "${dsn}" ; d2rq:username "${cluster.user}" ; d2rq:password "${cluster.password}" ]`;
      const ttl = `@prefix d2rq: <http://www.wiwiss.fu-berlin.de/suhl/bizer/D2RQ/0.1#> .
<#T> a rml:TriplesMap ; rml:logicalSource [ ${db} ; rml:referenceFormulation rml:SQL2008Table ; rml:iterator "Staff" ] ;
  rml:subjectMap [ rml:template "s/{id}" ] ;
  rml:predicateObjectMap [ rml:predicate ex:id ; rml:objectMap [ rml:reference "id" ] ] ;
  rml:predicateObjectMap [ rml:predicate ex:rate ; rml:objectMap [ rml:reference "rate" ] ] ;
  rml:predicateObjectMap [ rml:predicate ex:pay ; rml:objectMap [ rml:reference "pay" ] ] ;
  rml:predicateObjectMap [ rml:predicate ex:active ; rml:objectMap [ rml:reference "active" ] ] ;
  rml:predicateObjectMap [ rml:predicate ex:born ; rml:objectMap [ rml:reference "born" ] ] ;
  rml:predicateObjectMap [ rml:predicate ex:note ; rml:objectMap [ rml:reference "note" ] ] .
<#Q> a rml:TriplesMap ; rml:logicalSource [ ${db} ; rml:referenceFormulation rml:SQL2008Query ; rml:iterator "SELECT id, upper(name) AS shout FROM \\"Staff\\" WHERE active" ] ;
  rml:subjectMap [ rml:template "s/{id}" ] ;
  rml:predicateObjectMap [ rml:predicate ex:shout ; rml:objectMap [ rml:reference "shout" ; rml:language "en" ] ] .`;
      const dir = dirWith({});
      const { statements, stats } = await run(ttl, dir);
      const x = (t: string) => `^^<http://www.w3.org/2001/XMLSchema#${t}>`;
      expect(statements).toEqual(
        [
          `<http://example.com/base/s/1> <http://example.com/ns#active> "true"${x('boolean')} .`,
          `<http://example.com/base/s/1> <http://example.com/ns#born> "1980-02-29"${x('date')} .`,
          `<http://example.com/base/s/1> <http://example.com/ns#id> "1"${x('integer')} .`,
          `<http://example.com/base/s/1> <http://example.com/ns#pay> "1234.50"${x('decimal')} .`,
          `<http://example.com/base/s/1> <http://example.com/ns#rate> "5.0E-1"${x('double')} .`,
          `<http://example.com/base/s/1> <http://example.com/ns#shout> "ANN"@en .`,
          `<http://example.com/base/s/2> <http://example.com/ns#active> "false"${x('boolean')} .`,
          `<http://example.com/base/s/2> <http://example.com/ns#born> "1990-01-01"${x('date')} .`,
          `<http://example.com/base/s/2> <http://example.com/ns#id> "2"${x('integer')} .`,
          `<http://example.com/base/s/2> <http://example.com/ns#note> "x" .`,
          `<http://example.com/base/s/2> <http://example.com/ns#pay> "10.00"${x('decimal')} .`,
          `<http://example.com/base/s/2> <http://example.com/ns#rate> "1.2E1"${x('double')} .`,
        ].sort(),
      );
      expect(stats.sources.map((s) => s.label).sort()).toEqual(['pg:Staff', 'pg:query']);
    } finally {
      await cluster.stop();
    }
  });

  it('accepts YARRRML', async () => {
    const dir = dirWith({
      'people.csv': PEOPLE,
      'm.yml': `prefixes:
  ex: http://example.com/ns#
mappings:
  person:
    sources:
      - [people.csv~csv]
    s: http://example.com/person/$(id)
    po:
      - [ex:name, $(name)]
`,
    });
    const m = await loadMapping(join(dir, 'm.yml'));
    const lines: string[] = [];
    await runMapping(m, { baseIri: 'http://x/', mappingDirectory: dir, currentWorkingDirectory: dir, emit: (s) => lines.push(s) });
    expect(lines.sort()).toEqual([
      '<http://example.com/person/1> <http://example.com/ns#name> "Ann" .',
      '<http://example.com/person/2> <http://example.com/ns#name> "Bob" .',
      '<http://example.com/person/3> <http://example.com/ns#name> "Cas" .',
    ]);
  });

  it('reads legacy RML (semweb.mmlab.be rml:, R2RML rr:, ql:)', async () => {
    const dir = dirWith({ 'people.csv': PEOPLE, 'depts.csv': DEPTS });
    const ttl = `@prefix rr: <http://www.w3.org/ns/r2rml#> . @prefix rml: <http://semweb.mmlab.be/ns/rml#> . @prefix ql: <http://semweb.mmlab.be/ns/ql#> .
@prefix ex: <http://example.com/ns#> .
<#P> rml:logicalSource [ rml:source "people.csv" ; rml:referenceFormulation ql:CSV ] ;
  rr:subjectMap [ rr:template "http://example.com/person/{id}" ; rr:class ex:Person ; rr:graph ex:G ] ;
  rr:predicateObjectMap [ rr:predicate ex:name ; rr:objectMap [ rml:reference "name" ] ] ;
  rr:predicateObjectMap [ rr:predicate ex:dept ; rr:objectMap [ rr:parentTriplesMap <#D> ; rr:joinCondition [ rr:child "dept" ; rr:parent "code" ] ] ] .
<#D> rml:logicalSource [ rml:source "depts.csv" ; rml:referenceFormulation ql:CSV ] ;
  rr:subjectMap [ rr:template "http://example.com/dept/{code}" ] .`;
    const m = compileMapping(ttl, join(dir, 'legacy.ttl'));
    const lines: string[] = [];
    await runMapping(m, { baseIri: 'http://x/', mappingDirectory: dir, currentWorkingDirectory: '/nonexistent', emit: (s) => lines.push(s) });
    expect(lines).toContain('<http://example.com/person/1> <http://example.com/ns#dept> <http://example.com/dept/10> <http://example.com/ns#G> .');
    expect(lines).toContain('<http://example.com/person/2> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://example.com/ns#Person> <http://example.com/ns#G> .');
    expect(lines).toHaveLength(9);
  });

  it('names the triples map and what to fix in mapping errors', async () => {
    expect(() => compileMapping(PREFIXES + `<#T> a rml:TriplesMap ; ${csvSource('x.csv')} .`, '/tmp/m.ttl')).toThrow(/triples map <file:\/\/\/tmp\/m.ttl#T> has no subject map/);
    expect(() =>
      compileMapping(PREFIXES + `<#T> a rml:TriplesMap ; ${csvSource('x.csv')} ; rml:subjectMap [ rml:template "a/{x}" ] ; rml:predicateObjectMap [ rml:predicate ex:p ; rml:objectMap [ rml:reference "x" ; rml:language "en_US" ] ] .`, '/tmp/m.ttl'),
    ).toThrow(/not a valid BCP 47/);
    const dir = dirWith({ 'x.csv': 'a,b\n1,2\n' });
    await expect(run(`<#T> a rml:TriplesMap ; ${csvSource('x.csv')} ; rml:subjectMap [ rml:template "a/{c}" ] .`, dir)).rejects.toThrow(/column "c"/);
  });
});
