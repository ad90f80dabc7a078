import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { issueValidatedQueryCredential, type CredentialFormat, type JsonLdDocument, type QueryToIssue } from '../exchange/credentials/index.js';
import { loadPack, parametersFor } from '../indicators/pack.js';
import { parameterShapeTurtle } from '../indicators/parameter-shapes.js';
import type { ParameterValue } from '../indicators/bind.js';

/**
 * The simulated KIK-V beheerorganisatie (Zorginstituut's credential issuer): its own DID and ES256 key,
 * issues ValidatedQueryCredentials to a consumer in both proof formats and revokes them by writing the
 * agent's revocation list (trust.revokedCredentials, src/exchange/trust/revocation.ts).
 */

/** A simulated party: a DID with one ES256 key; the kid in signatures is `<did>#<JWK thumbprint>`. */
export interface SimParty {
  did: string;
  /** The verification method id signatures name: `<did>#<thumbprint>`. */
  kid: string;
  privateKey: CryptoKey;
  /** The public key as the party's JWKS lists it (kid = the thumbprint, as peers' JWKS files are read). */
  publicJwk: JWK;
}

/** A new party with a fresh key, in memory only. */
export async function newSimParty(did: string): Promise<SimParty> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  return partyOf(did, await exportJWK(privateKey));
}

/**
 * The party `name` kept in `dir` (private key 0600, public JWKS next to it), created on first use. The
 * DID is stored with the key, so a later run with another DID is refused instead of silently re-keying.
 */
export async function loadOrCreateSimParty(dir: string, name: string, did: string): Promise<SimParty> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}.key.json`);
  if (existsSync(file)) {
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { did: string; jwk: JWK };
    if (stored.did !== did) throw new Error(`${file} holds the key of ${stored.did}, not ${did}; remove the file to make a new party, or use DID ${stored.did}`);
    return partyOf(stored.did, stored.jwk);
  }
  const party = await newSimParty(did);
  writeFileSync(file, JSON.stringify({ did, jwk: await exportJWK(party.privateKey) }), { mode: 0o600 });
  writeJwksFile(party, jwksFileOf(dir, name));
  return party;
}

/** Where loadOrCreateSimParty keeps the party's public JWKS (what the agent's trust.peers[].jwks names). */
export function jwksFileOf(dir: string, name: string): string {
  return join(dir, `${name}.jwks.json`);
}

/** Writes the party's public JWKS (the file format of trust.peers[].jwks). */
export function writeJwksFile(party: SimParty, file: string): void {
  writeFileSync(file, `${JSON.stringify({ keys: [party.publicJwk] }, null, 2)}\n`);
}

async function partyOf(did: string, privateJwk: JWK): Promise<SimParty> {
  const { d: _d, ...pub } = privateJwk;
  const thumbprint = await calculateJwkThumbprint(pub);
  const privateKey = (await importJWK({ ...privateJwk, alg: 'ES256' }, 'ES256', { extractable: true })) as CryptoKey;
  return { did, kid: `${did}#${thumbprint}`, privateKey, publicJwk: { ...pub, kid: thumbprint, alg: 'ES256', use: 'sig' } };
}

/** A query from our profile pack, as the beheerorganisatie would put it in a credential, with the request's parameter values. */
export interface PackQuery extends QueryToIssue {
  /** The pack item it is. */
  item: string;
  /** The item's parameter values for the year (param_values of a request). */
  params: Record<string, ParameterValue>;
}

/**
 * The validated query of pack item `itemId` for `year`: the item's SPARQL text, a stable UUID (the
 * manifest's `identifier`, else one derived from the profile IRI and item id), the profile IRI, the
 * ontology IRI with its version, and paramsSHACL from the item's parameter shape.
 */
export function packItemQuery(packsDir: string, profile: string, version: string, itemId: string, year: number): PackQuery {
  const pack = loadPack(packsDir, profile, version);
  const item = pack.manifest.indicators.find((i) => i.id === itemId);
  const ids = () => pack.manifest.indicators.filter((i) => pack.queries.has(i.id)).map((i) => i.id).join(', ');
  if (!item) throw new Error(`${profile} ${version} has no item "${itemId}"; computed items: ${ids()}`);
  const q = pack.queries.get(itemId);
  if (!q) throw new Error(`item ${itemId} of ${profile} ${version} is entered by the board (manual), so there is no query to ask for; computed items: ${ids()}`);
  const header = pack.manifest.profile;
  const named = (item as { identifier?: unknown }).identifier;
  const identifier = typeof named === 'string' ? named.replace(/^urn:uuid:/i, '') : stableUuid(`${header.iri}#${itemId}`);
  return {
    item: itemId,
    identifier,
    name: `${item.number} ${item.name}`,
    profile: header.iri,
    ontology: ontologyIris(header.ontology),
    sparql: q.sparql,
    ...(Object.keys(item.parameters).length > 0 ? { paramsSHACL: parameterShapeTurtle(item, year) } : {}),
    params: parametersFor(item, year),
  };
}

/** The computed items of a pack (what `--indicator` may name). */
export function packItemIds(packsDir: string, profile: string, version: string): string[] {
  const pack = loadPack(packsDir, profile, version);
  return pack.manifest.indicators.filter((i) => pack.queries.has(i.id)).map((i) => i.id);
}

/** Ontology IRIs with a version fragment, as KIK-V credentials name them (ONZ: the onz-g module). */
function ontologyIris(o: { name: string; version: string }): string[] {
  if (o.name === 'ONZ') return [`http://purl.org/ozo/onz-g#${o.version}`];
  return [`urn:ontology:${encodeURIComponent(o.name)}#${o.version}`];
}

/** A name-based UUID (RFC 4122 §4.3, version 5 layout over SHA-1), so an item keeps its identifier across runs. */
export function stableUuid(name: string): string {
  const h = createHash('sha1').update(name).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** One issued credential: its id (what a revocation names) and the credential itself. */
export interface IssuedCredential {
  id: string;
  format: CredentialFormat;
  /** A JSON-LD document with a JsonWebSignature2020 proof ('ldp') or a VC-JWT ('jwt'). */
  credential: JsonLdDocument | string;
}

export interface IssueRequest {
  /** The consumer's DID (credentialSubject.id). */
  subject: string;
  query: QueryToIssue;
  format: CredentialFormat;
  /** Validity; defaults: from a minute ago, for a year. */
  validFrom?: Date;
  validUntil?: Date;
}

export class Beheerorganisatie {
  constructor(
    readonly party: SimParty,
    /** The agent's trust.revokedCredentials file, written by revoke(). */
    readonly revocationFile?: string,
  ) {}

  get did(): string {
    return this.party.did;
  }

  jwks(): { keys: JWK[] } {
    return { keys: [this.party.publicJwk] };
  }

  /** A ValidatedQueryCredential for `subject` in the asked proof format, signed with our key. */
  async issue(r: IssueRequest): Promise<IssuedCredential> {
    const id = `${this.did}#${randomUUID()}`;
    const validFrom = r.validFrom ?? new Date(Date.now() - 60_000);
    const validUntil = r.validUntil ?? new Date(validFrom.getTime() + 365 * 86_400_000);
    const { kid, privateKey } = this.party;
    // Only the QueryToIssue fields go into the credential (a PackQuery also carries item and params).
    const { identifier, name, description, profile, ontology, sparql, paramsSHACL } = r.query;
    const query: QueryToIssue = { identifier, profile, ontology, sparql, ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}), ...(paramsSHACL !== undefined ? { paramsSHACL } : {}) };
    const credential = await issueValidatedQueryCredential({ issuer: this.did, signer: { kid, privateKey }, subject: r.subject, query, issuanceDate: validFrom, expirationDate: validUntil, id, format: r.format });
    return { id, format: r.format, credential };
  }

  /** Revokes a credential by adding its id to the revocation list, in the list's own format (lines or a JSON array). */
  revoke(credentialId: string): void {
    if (!this.revocationFile) throw new Error('no revocation file: give the beheerorganisatie the path of the agent\'s trust.revokedCredentials');
    const text = existsSync(this.revocationFile) ? readFileSync(this.revocationFile, 'utf8') : '';
    if (text.trim().startsWith('[')) {
      const ids = JSON.parse(text) as unknown[];
      if (!ids.includes(credentialId)) writeFileSync(this.revocationFile, `${JSON.stringify([...ids, credentialId], null, 2)}\n`);
      return;
    }
    const lines = text.split(/\r?\n/).map((l) => l.trim());
    if (lines.includes(credentialId)) return;
    const head = text === '' ? `# Credentials revoked by ${this.did} (one id per line)\n` : text.endsWith('\n') ? text : `${text}\n`;
    writeFileSync(this.revocationFile, `${head}${credentialId}\n`);
  }
}
