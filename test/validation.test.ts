import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Parser, Store, type Quad } from 'n3';
import { beforeAll, describe, expect, it } from 'vitest';
import { NS } from '../src/ontology/namespaces.js';
import type { ShaclViolation } from '../src/report/types.js';
import { ONTOLOGY_DIR, OntologyVersionError } from '../src/validation/ontology.js';
import { clearShapesCache, compiledShapes, shapeCompilations, validateQuads } from '../src/validation/shacl.js';
import { tempDir } from './helpers.js';

const SHP = 'https://w3id.org/kikv-agent/shapes/onz-3.0.0#';
const D = 'https://data.test.example/id/';

const PREFIXES = `
@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix onz-g: <http://purl.org/ozo/onz-g#> .
@prefix onz-pers: <http://purl.org/ozo/onz-pers#> .
@prefix onz-org: <http://purl.org/ozo/onz-org#> .
@prefix onz-zorg: <http://purl.org/ozo/onz-zorg#> .
@prefix onz-fin: <http://purl.org/ozo/onz-fin#> .
@prefix ext: <https://w3id.org/kikv-agent/ext#> .
@prefix ref: <https://w3id.org/kikv-agent/ref/> .
@base <${D}> .
`;

/** One of everything the shipped mapping produces, all valid. */
const VALID = `${PREFIXES}
<organisatie/O> a onz-g:Business ; rdfs:label "Zorggroep Test" ; onz-g:identifiedBy <organisatie/O/kvk> .
<organisatie/O/kvk> a ext:KvkNummer ; onz-g:hasDataValue "12345678" .

<vestiging/L1> a onz-org:Vestiging , onz-g:StationaryArtifact ; rdfs:label "De Linde" ;
  onz-g:identifiedBy <vestiging/L1/nr> ; onz-g:hasLocalizableArea <vestiging/L1/gebied> ; onz-org:vestigingVan <organisatie/O> .
<kostenplaats/L1> a onz-fin:Kostenplaats ; onz-g:isAbout <vestiging/L1> .
<vestiging/L1/nr> a onz-org:Vestigingsnummer ; onz-g:hasDataValue "000012345678" .
<vestiging/L1/gebied> onz-g:identifiedBy <vestiging/L1/adres> .
<vestiging/L1/adres> a ext:Adres ; rdfs:label "Parkweg 1, 7425VW Deventer" ; onz-g:hasPart <vestiging/L1/adres/pc> .
<vestiging/L1/adres/pc> onz-g:hasPart <https://w3id.org/kikv-agent/ref/postcode/7425VW> .
<https://w3id.org/kikv-agent/ref/postcodegebied/7425> a ext:Postcodegebied ; onz-g:identifiedBy <https://w3id.org/kikv-agent/ref/postcode/7425> ; onz-g:partOf <https://w3id.org/kikv-agent/ref/gemeente/0150> .
<https://w3id.org/kikv-agent/ref/gemeente/0150> a ext:Gemeente ; rdfs:label "Deventer" ; onz-g:partOf <https://w3id.org/kikv-agent/ref/zorgkantoorregio/midden-ijssel> .
<https://w3id.org/kikv-agent/ref/zorgkantoorregio/midden-ijssel> a onz-org:ZorgkantoorRegio ; rdfs:label "Midden-IJssel" .
<afdeling/W1> a onz-g:StationaryArtifact , ext:Afdeling ; rdfs:label "Madelief" ; onz-g:partOf <vestiging/L1> .

<functie/VIG> a onz-g:OccupationalPositionRole , onz-pers:ZorgverlenerFunctie ; rdfs:label "Verzorgende IG" ;
  onz-g:hasQuality <functie/VIG/kwal> .
<functie/VIG/kwal> onz-g:hasQualityValue <https://w3id.org/kikv-agent/ref/kwalificatie/niveau-3> .
<https://w3id.org/kikv-agent/ref/kwalificatie/niveau-3> a onz-pers:ODBKwalificatieWaarde ; rdfs:label "Kwalificatieniveau 3" .
<functie/MGR> a onz-g:OccupationalPositionRole ; rdfs:label "Manager" .
<https://w3id.org/kikv-agent/ref/eenheid/uur-per-week> rdfs:label "uur per week" ; onz-g:hasDataValue 1 .

<persoon/E1> a onz-g:Human ; onz-g:hasDateOfBirth "1980-05-01"^^xsd:date .
<overeenkomst/A1> a onz-pers:WerkOvereenkomst , onz-pers:ArbeidsOvereenkomst , onz-pers:ArbeidsOvereenkomstBepaaldeTijd , onz-pers:ArbeidsOvereenkomstBBL ;
  onz-pers:heeftOpdrachtnemer <persoon/E1> ; onz-g:startDatum "2023-01-01"^^xsd:date ; onz-g:eindDatum "2023-12-31"^^xsd:date ;
  onz-g:hasPart <afspraak/C1> .
<afspraak/C1> a onz-pers:WerkOvereenkomstAfspraak ; onz-g:startDatum "2023-01-01"^^xsd:date ;
  onz-g:isAbout <functie/VIG> , <afdeling/W1> ; onz-g:hasPart <afspraak/C1/omvang> .
<afspraak/C1/omvang> a onz-pers:ContractOmvang ; onz-g:isAbout <afspraak/C1/omvang/waarde> .
<afspraak/C1/omvang/waarde> a onz-pers:ContractOmvangWaarde ; onz-g:hasDataValue "24"^^xsd:decimal ; onz-g:hasUnitOfMeasure <https://w3id.org/kikv-agent/ref/eenheid/uur-per-week> .
<gewerkt/G1> a onz-pers:GewerktePeriode ; onz-g:definedBy <overeenkomst/A1> ; onz-g:hasBeginTimeStamp "2023-03-01T00:00:00"^^xsd:dateTime ;
  onz-g:hasPerdurantLocation <afdeling/W1> ; onz-g:hasQuality <gewerkt/G1/uren> .
<gewerkt/G1/uren> onz-g:hasQualityValue <gewerkt/G1/uren/waarde> .
<gewerkt/G1/uren/waarde> onz-g:hasDataValue "101.5"^^xsd:decimal ; onz-g:hasUnitOfMeasure <https://w3id.org/kikv-agent/ref/eenheid/uur> .
<verzuim/V1> a onz-pers:ZiektePeriode ; onz-g:definedBy <overeenkomst/A1> ; onz-g:startDatum "2023-02-01"^^xsd:date ;
  onz-g:eindDatum "2023-02-10"^^xsd:date ; onz-g:hasQuality <verzuim/V1/tijd> .
<verzuim/V1/tijd> a onz-pers:VerzuimTijdKwaliteit ; onz-g:hasQualityValue <verzuim/V1/tijd/waarde> .
<verzuim/V1/tijd/waarde> onz-g:hasDataValue "50"^^xsd:decimal ; onz-g:hasUnitOfMeasure onz-g:percent ; onz-g:startDatum "2023-02-01"^^xsd:date .
<grootboekpost/P1> a onz-fin:Grootboekpost ; onz-g:partOf onz-fin:WPerLes ; onz-g:hasDate "2023-01-31"^^xsd:date ;
  onz-fin:heeftGeldBedrag "1000.00"^^xsd:decimal ; onz-g:isAbout <kostenplaats/L1> .

<client/K1> a onz-g:Human ; onz-g:hasDateOfBirth "1935-01-01"^^xsd:date .
<indicatie/I1> a onz-zorg:WlzIndicatie , onz-zorg:IndicatieBesluit ; onz-g:isAbout <client/K1> ; onz-g:startDatum "2022-06-01"^^xsd:date ;
  onz-g:hasPart onz-zorg:5VV , onz-zorg:instelling , ext:verblijfZonderBehandeling .
<zorgproces/Z1> a onz-zorg:NursingProcess , onz-g:CureAndCareProcess ; onz-g:definedBy <indicatie/I1> ; onz-g:hasParticipant <client/K1> ;
  onz-g:hasPerdurantLocation <afdeling/W1> ; onz-g:startDatum "2022-06-01"^^xsd:date .
<observatie/OB1> a ext:DecubitusObservatie ; onz-g:isAbout <client/K1> ; onz-g:hasDate "2024-01-15"^^xsd:date ; ext:uitkomst "2" .
<observatie/OB2> a ext:ToiletgangplanObservatie ; onz-g:isAbout <client/K1> ; onz-g:hasDate "2024-01-15"^^xsd:date ; ext:uitkomst "unknown" .
<maatregel/M1> a ext:VrijheidsbeperkendeMaatregel ; ext:maatregelType ext:ElektronischeMaatregel ; onz-g:isAbout <client/K1> ;
  onz-g:startDatum "2023-11-01"^^xsd:date .
<bespreking/B1> a ext:CasuistiekbesprekingDecubitus ; onz-g:hasPerdurantLocation <afdeling/W1> ; onz-g:hasDate "2023-05-01"^^xsd:date .
`;

function parse(ttl: string): Quad[] {
  return new Parser({ format: 'text/turtle' }).parse(ttl);
}

/** The valid data with some statements removed (matched by subject and predicate) and others added. */
function broken(remove: Array<[string, string]>, add = ''): Quad[] {
  const quads = parse(VALID).filter((q) => !remove.some(([s, p]) => q.subject.value === expandTerm(s) && q.predicate.value === expandTerm(p)));
  return [...quads, ...parse(`${PREFIXES}\n${add.replace(/(^|\s):([a-z]+\/[\w/.-]*\w)/g, '$1<$2>')}`)];
}

function expandTerm(t: string): string {
  if (t.startsWith(':')) return D + t.slice(1);
  if (/^https?:/.test(t)) return t;
  const i = t.indexOf(':');
  return NS[t.slice(0, i) as keyof typeof NS] + t.slice(i + 1);
}

describe('SHACL validation of mapped data (ONZ 3.0.0 shapes)', () => {
  beforeAll(() => {
    clearShapesCache();
  });

  it('passes data that has everything the indicators need', async () => {
    expect(await validateQuads(parse(VALID), 'onz-3.0.0')).toEqual([]);
  });

  it('accepts an n3 Store and any iterable of quads', async () => {
    expect(await validateQuads(new Store(parse(VALID)), 'onz-3.0.0')).toEqual([]);
    expect(await validateQuads(new Set(parse(VALID)), '3.0.0')).toEqual([]);
  });

  interface Case {
    name: string;
    data: () => Quad[];
    expect: { shape: string; focusNode: string; path?: string; severity?: ShaclViolation['severity']; message: RegExp; value?: string };
  }

  const cases: Case[] = [
    {
      name: 'organisation without KvK number',
      data: () => broken([[':organisatie/O', 'onz-g:identifiedBy']]),
      expect: { shape: 'Organisatie-kvk', focusNode: `${D}organisatie/O`, path: 'onz-g:identifiedBy', message: /exactly one KvK number/ },
    },
    {
      name: 'vestiging without its organisation (a warning: Zorgkantoren 14.2 leaves it out)',
      data: () => broken([[':vestiging/L1', 'onz-org:vestigingVan']]),
      expect: { shape: 'Vestiging-organisatie', focusNode: `${D}vestiging/L1`, path: 'onz-org:vestigingVan', severity: 'Warning', message: /names no organisation/ },
    },
    {
      name: 'vestigingsnummer of 11 digits',
      data: () => broken([[':vestiging/L1/nr', 'onz-g:hasDataValue']], ':vestiging/L1/nr onz-g:hasDataValue "00001234567" .'),
      expect: { shape: 'Vestigingsnummer-vorm', focusNode: `${D}vestiging/L1/nr`, path: 'onz-g:hasDataValue', value: '00001234567', message: /exactly 12 digits/ },
    },
    {
      name: 'vestiging without vestigingsnummer',
      data: () => broken([[':vestiging/L1', 'onz-g:identifiedBy']]),
      expect: { shape: 'Vestiging-nummer', focusNode: `${D}vestiging/L1`, path: 'onz-g:identifiedBy', message: /exactly one vestigingsnummer/ },
    },
    {
      name: 'postcode with a space (not 6 positions)',
      data: () => broken([[':vestiging/L1/adres/pc', 'onz-g:hasPart']], ':vestiging/L1/adres/pc onz-g:hasPart <https://w3id.org/kikv-agent/ref/postcode/7425%20VW> .'),
      expect: {
        shape: 'Vestiging-postcode',
        focusNode: `${D}vestiging/L1`,
        path: 'onz-g:hasLocalizableArea/onz-g:identifiedBy/onz-g:hasPart/onz-g:hasPart',
        message: /6-position postcode/,
      },
    },
    {
      name: 'vestiging not typed as a place',
      data: () => parse(VALID).filter((q) => !(q.subject.value === `${D}vestiging/L1` && q.object.value.endsWith('#StationaryArtifact'))),
      expect: { shape: 'Vestiging-plaats', focusNode: `${D}vestiging/L1`, path: 'rdf:type', message: /also be an onz-g:StationaryArtifact/ },
    },
    {
      name: 'ward that is part of no vestiging',
      data: () => broken([[':afdeling/W1', 'onz-g:partOf']]),
      expect: { shape: 'Afdeling-vestiging', focusNode: `${D}afdeling/W1`, path: 'onz-g:partOf+', message: /part of a vestiging/ },
    },
    {
      name: 'agreement without start date',
      data: () => broken([[':overeenkomst/A1', 'onz-g:startDatum']]),
      expect: { shape: 'Periode-start', focusNode: `${D}overeenkomst/A1`, path: 'onz-g:startDatum', message: /^No value for onz-g:startDatum \(one is required\)\.$/ },
    },
    {
      name: 'agreement ending before it starts',
      data: () => broken([[':overeenkomst/A1', 'onz-g:eindDatum']], ':overeenkomst/A1 onz-g:eindDatum "2022-12-31"^^xsd:date .'),
      expect: { shape: 'Periode-start', focusNode: `${D}overeenkomst/A1`, path: 'onz-g:startDatum', value: '2023-01-01', message: /"2023-01-01" of onz-g:startDatum is after the value of onz-g:eindDatum/ },
    },
    {
      name: 'start date that is not a date',
      data: () => broken([[':afspraak/C1', 'onz-g:startDatum']], ':afspraak/C1 onz-g:startDatum "01-01-2023" .'),
      expect: { shape: 'Periode-start', focusNode: `${D}afspraak/C1`, path: 'onz-g:startDatum', value: '01-01-2023', message: /is not a valid xsd:date/ },
    },
    {
      name: 'agreement typed with a subclass only (superclass not materialised)',
      data: () =>
        parse(VALID).filter((q) => !(q.subject.value === `${D}overeenkomst/A1` && /#(ArbeidsOvereenkomst|WerkOvereenkomst)$/.test(q.object.value))),
      expect: { shape: 'Materialisatie-ArbeidsOvereenkomst-type', focusNode: `${D}overeenkomst/A1`, path: 'rdf:type', message: /do not reason/ },
    },
    {
      name: 'agreement without a person',
      data: () => broken([[':overeenkomst/A1', 'onz-pers:heeftOpdrachtnemer']]),
      expect: { shape: 'Werkovereenkomst-opdrachtnemer', focusNode: `${D}overeenkomst/A1`, path: 'onz-pers:heeftOpdrachtnemer', message: /exactly one person/ },
    },
    {
      name: 'clause without a function',
      data: () => broken([[':afspraak/C1', 'onz-g:isAbout']], ':afspraak/C1 onz-g:isAbout <afdeling/W1> .'),
      expect: { shape: 'Afspraak-functie', focusNode: `${D}afspraak/C1`, path: 'onz-g:isAbout', message: /exactly one function/ },
    },
    {
      name: 'contract size in a unit without hours factor',
      data: () => broken([['https://w3id.org/kikv-agent/ref/eenheid/uur-per-week', 'onz-g:hasDataValue']]),
      expect: { shape: 'ContractOmvangWaarde-factor', focusNode: `${D}afspraak/C1/omvang/waarde`, path: 'onz-g:hasUnitOfMeasure/onz-g:hasDataValue', message: /hours factor/ },
    },
    {
      name: 'care function without qualification (a warning)',
      data: () => broken([[':functie/VIG', 'onz-g:hasQuality']]),
      expect: { shape: 'Zorgfunctie-kwalificatie', severity: 'Warning', focusNode: `${D}functie/VIG`, path: 'onz-g:hasQuality/onz-g:hasQualityValue', message: /qualification mix/ },
    },
    {
      name: 'absence percentage above 100',
      data: () => broken([[':verzuim/V1/tijd/waarde', 'onz-g:hasDataValue']], ':verzuim/V1/tijd/waarde onz-g:hasDataValue "120"^^xsd:decimal .'),
      expect: {
        shape: 'VerzuimTijd-percentage',
        focusNode: `${D}verzuim/V1/tijd`,
        path: 'onz-g:hasQualityValue/onz-g:hasDataValue',
        value: '120',
        message: /"120" of onz-g:hasQualityValue\/onz-g:hasDataValue is greater than the maximum "100"/,
      },
    },
    {
      name: 'absence not tied to an agreement',
      data: () => broken([[':verzuim/V1', 'onz-g:definedBy']]),
      expect: { shape: 'Verzuim-overeenkomst', focusNode: `${D}verzuim/V1`, path: 'onz-g:definedBy', message: /exactly one work agreement/ },
    },
    {
      name: 'worked hours without hours',
      data: () => broken([[':gewerkt/G1/uren/waarde', 'onz-g:hasDataValue']]),
      expect: { shape: 'GewerktePeriode-uren', focusNode: `${D}gewerkt/G1`, path: 'onz-g:hasQuality/onz-g:hasQualityValue/onz-g:hasDataValue', message: /^No value for/ },
    },
    {
      name: 'ledger posting with an amount that is not a number',
      data: () => broken([[':grootboekpost/P1', 'onz-fin:heeftGeldBedrag']], ':grootboekpost/P1 onz-fin:heeftGeldBedrag "duizend" .'),
      expect: { shape: 'Grootboekpost-bedrag', focusNode: `${D}grootboekpost/P1`, path: 'onz-fin:heeftGeldBedrag', value: 'duizend', message: /not a valid xsd:decimal/ },
    },
    {
      name: 'indication with two care profiles',
      data: () => broken([], ':indicatie/I1 onz-g:hasPart onz-zorg:6VV .'),
      expect: { shape: 'WlzIndicatie-zorgprofiel', focusNode: `${D}indicatie/I1`, path: 'onz-g:hasPart', message: /exactly one care profile/ },
    },
    {
      name: 'indication with a care profile written as in the source system (VV5)',
      data: () =>
        parse(VALID)
          .filter((q) => !(q.subject.value === `${D}indicatie/I1` && q.object.value.endsWith('#5VV')))
          .concat(parse(`${PREFIXES} <indicatie/I1> onz-g:hasPart onz-zorg:VV5 .`)),
      expect: { shape: 'WlzIndicatie-zorgprofiel', focusNode: `${D}indicatie/I1`, path: 'onz-g:hasPart', message: /source systems often write VV4/ },
    },
    {
      name: 'indication without delivery form',
      data: () => parse(VALID).filter((q) => !(q.subject.value === `${D}indicatie/I1` && q.object.value.endsWith('#instelling'))),
      expect: { shape: 'WlzIndicatie-leveringsvorm', focusNode: `${D}indicatie/I1`, path: 'onz-g:hasPart', message: /exactly one delivery form/ },
    },
    {
      name: 'care process without location',
      data: () => broken([[':zorgproces/Z1', 'onz-g:hasPerdurantLocation']]),
      expect: { shape: 'Zorgproces-locatie', focusNode: `${D}zorgproces/Z1`, path: 'onz-g:hasPerdurantLocation', message: /exactly one location/ },
    },
    {
      name: 'care process without indication',
      data: () => broken([[':zorgproces/Z1', 'onz-g:definedBy']]),
      expect: { shape: 'Zorgproces-indicatie', focusNode: `${D}zorgproces/Z1`, path: 'onz-g:definedBy', message: /exactly one indication/ },
    },
    {
      name: 'decubitus category out of range',
      data: () => broken([[':observatie/OB1', 'ext:uitkomst']], ':observatie/OB1 ext:uitkomst "5" .'),
      expect: { shape: 'Decubitus-uitkomst', focusNode: `${D}observatie/OB1`, path: 'ext:uitkomst', value: '5', message: /"0" \(none\) to "4"/ },
    },
    {
      name: 'observation without client',
      data: () => broken([[':observatie/OB2', 'onz-g:isAbout']]),
      expect: { shape: 'Observatie-client', focusNode: `${D}observatie/OB2`, path: 'onz-g:isAbout', message: /exactly one client/ },
    },
    {
      name: 'freedom-restricting measure without type',
      data: () => broken([[':maatregel/M1', 'ext:maatregelType']]),
      expect: { shape: 'Maatregel-type', focusNode: `${D}maatregel/M1`, path: 'ext:maatregelType', message: /exactly one type/ },
    },
    {
      name: 'ward discussion on no ward',
      data: () => broken([[':bespreking/B1', 'onz-g:hasPerdurantLocation']]),
      expect: { shape: 'Bespreking-afdeling', focusNode: `${D}bespreking/B1`, path: 'onz-g:hasPerdurantLocation', message: /exactly one ward/ },
    },
  ];

  it.each(cases)('reports $name', async (c) => {
    const violations = await validateQuads(c.data(), 'onz-3.0.0');
    const hit = violations.find((v) => v.shape === SHP + c.expect.shape && v.focusNode === c.expect.focusNode);
    expect(hit, `no result of ${c.expect.shape} on ${c.expect.focusNode}; got ${JSON.stringify(violations, null, 1)}`).toBeDefined();
    expect(hit!.severity).toBe(c.expect.severity ?? 'Violation');
    expect(hit!.message).toMatch(c.expect.message);
    if (c.expect.path) expect(hit!.path).toBe(c.expect.path);
    if (c.expect.value) expect(hit!.value).toBe(c.expect.value);
    expect(hit!.origin).toBeUndefined();
    // Nothing else breaks: every result is on the node we broke or follows from it.
    for (const v of violations) expect(v.message.length).toBeGreaterThan(10);
  });

  it('compiles the shapes of a version once and reuses them', async () => {
    clearShapesCache();
    const before = shapeCompilations();
    await validateQuads(parse(VALID), 'onz-3.0.0');
    await validateQuads(broken([[':overeenkomst/A1', 'onz-g:startDatum']]), 'onz-3.0.0');
    await validateQuads(parse(VALID), '3.0.0');
    expect(shapeCompilations()).toBe(before + 1);
    expect(compiledShapes('onz-3.0.0')).toBe(compiledShapes('3.0.0'));
  });

  it('names the fix when the ontology version is not installed', async () => {
    await expect(validateQuads(parse(VALID), 'onz-9.9.9')).rejects.toThrow(OntologyVersionError);
    await expect(validateQuads(parse(VALID), 'onz-9.9.9')).rejects.toThrow(/onz-9\.9\.9.*installed versions: onz-3\.0\.0.*mapping\.ontology/s);
  });

  it('names the fix when a version has declarations but no shapes', async () => {
    const dir = tempDir();
    try {
      mkdirSync(join(dir, 'onz-4.0.0'), { recursive: true });
      cpSync(join(ONTOLOGY_DIR, 'onz-3.0.0'), join(dir, 'onz-4.0.0'), { recursive: true });
      await expect(validateQuads(parse(VALID), 'onz-4.0.0', { ontologyDir: dir })).rejects.toThrow(/has no SHACL shapes: .*shapes\/onz-4\.0\.0/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
