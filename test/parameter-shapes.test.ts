import { describe, expect, it } from 'vitest';
import { checkParameters, parameterShapeTurtle } from '../src/indicators/parameter-shapes.js';
import { parametersFor, type IndicatorDef } from '../src/indicators/pack.js';

const XSD = 'http://www.w3.org/2001/XMLSchema#';

const item: IndicatorDef = {
  id: 'x-1.1',
  set: { name: 'Test', code: 'ISID0' },
  inid: 'INID0',
  number: '1.1',
  name: 'test item',
  unit: 'percentage',
  level: ['organisation'],
  query: 'x.rq',
  measurementPeriod: { start: '{year}-01-01', end: '{year}-12-31' },
  parameters: {
    start_periode: { datatype: 'xsd:date', value: '{year}-01-01', minInclusive: '2019-01-01', notAfter: 'eind_periode' },
    eind_periode: { datatype: 'xsd:date', value: '{year}-12-31' },
    niveau: { datatype: 'iri', value: 'onz-pers:Niveau1', in: ['onz-pers:Niveau1', 'onz-pers:Niveau2'] },
  },
};

describe('parameter shapes', () => {
  it('writes a SHACL node shape per item in the official packs\' form', () => {
    const ttl = parameterShapeTurtle(item, 2023);
    expect(ttl).toContain('sh:targetClass <https://w3id.org/kikv-agent/params#x-1.1>');
    expect(ttl).toContain(`sh:datatype <${XSD}date>`);
    expect(ttl).toContain('sh:lessThanOrEquals <https://w3id.org/kikv-agent/params#eind_periode>');
    expect(ttl).toContain('sh:in (<http://purl.org/ozo/onz-pers#Niveau1> <http://purl.org/ozo/onz-pers#Niveau2>)');
  });

  it('accepts the parameters the manifest gives for a year', async () => {
    await expect(checkParameters(item, parametersFor(item, 2023), 2023)).resolves.toBeUndefined();
  });

  it('refuses a start after the end, a value outside sh:in, an impossible date and a wrong datatype, naming each', async () => {
    const bad = {
      start_periode: { value: '2023-12-31', datatype: `${XSD}date` },
      eind_periode: { value: '2023-02-30', datatype: `${XSD}date` },
      niveau: { iri: 'http://purl.org/ozo/onz-pers#Niveau7' },
    };
    const err = await checkParameters(item, bad, 2023).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    const msg = (err as Error).message;
    expect(msg).toContain('?eind_periode = "2023-02-30" is not a calendar date');
    expect(msg).toContain('?niveau = "http://purl.org/ozo/onz-pers#Niveau7" violates sh:in');
    const typed = await checkParameters(item, { ...parametersFor(item, 2023), eind_periode: { value: '2023', datatype: `${XSD}gYear` } }, 2023).catch((e: Error) => e.message);
    expect(typed).toContain('?eind_periode = "2023" violates sh:datatype (expected xsd:date)');
  });

  it('refuses a year before the data the pack allows', async () => {
    const msg = await checkParameters(item, parametersFor(item, 2017), 2017).catch((e: Error) => e.message);
    expect(msg).toContain('?start_periode = "2017-01-01" violates sh:minInclusive (at least 2019-01-01)');
  });

  it('refuses an ordering violation', async () => {
    const p = parametersFor(item, 2023);
    const msg = await checkParameters(item, { ...p, start_periode: { value: '2024-01-01', datatype: `${XSD}date` } }, 2023).catch((e: Error) => e.message);
    expect(msg).toContain('violates sh:lessThanOrEquals (may not be after ?eind_periode)');
  });
});

describe('year templates', () => {
  it('end of February follows leap years', async () => {
    const { yearTemplate } = await import('../src/indicators/pack.js');
    expect(yearTemplate('{year+1}-02-{last}', 2023)).toBe('2024-02-29');
    expect(yearTemplate('{year+1}-02-{last}', 2022)).toBe('2023-02-28');
    expect(yearTemplate('{year-1}-12-{last}', 2023)).toBe('2022-12-31');
  });
});
