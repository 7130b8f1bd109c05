/**
 * `crypto.x509.parse_certificates`: the JSON OPA produces, which is Go's
 * `x509.Certificate` through `encoding/json` plus `URIStrings`.
 * Big integers (SerialNumber, RSA N, EC X/Y) come back with every digit.
 * Not reproduced: DSA public keys (PublicKey is null), and the checks Go
 * makes on point validity and DNS-name syntax.
 */
import { BuiltinError, messageOf, stringArg } from './args.js';
import { DerReader, TAG, bitString, ctx, integer, oidArcs, type Element } from './asn1.js';
import { decodePem, decodeStdBase64 } from './encoding.js';
import { parseGoTime } from './go-time.js';
import { ExactInt, rawJson, toJsonText } from './raw-json.js';
import { applyExtensions, type Extension } from './x509-extensions.js';

const NAME = 'crypto.x509.parse_certificates';

// Go's SignatureAlgorithm values by OID (PSS handled apart).
const SIGNATURE_ALGORITHMS: Readonly<Record<string, number>> = {
  '1.2.840.113549.1.1.4': 2, '1.2.840.113549.1.1.5': 3, '1.3.14.3.2.29': 3, '1.2.840.113549.1.1.11': 4,
  '1.2.840.113549.1.1.12': 5, '1.2.840.113549.1.1.13': 6, '1.2.840.10040.4.3': 7, '2.16.840.1.101.3.4.3.2': 8,
  '1.2.840.10045.4.1': 9, '1.2.840.10045.4.3.2': 10, '1.2.840.10045.4.3.3': 11, '1.2.840.10045.4.3.4': 12, '1.3.101.112': 16,
};
const RSA_PSS = '1.2.840.113549.1.1.10';
const PSS_BY_HASH: Readonly<Record<string, [number, bigint]>> = {
  '2.16.840.1.101.3.4.2.1': [13, 32n], '2.16.840.1.101.3.4.2.2': [14, 48n], '2.16.840.1.101.3.4.2.3': [15, 64n],
};
const PUBLIC_KEY_ALGORITHMS: Readonly<Record<string, number>> = {
  '1.2.840.113549.1.1.1': 1, '1.2.840.10040.4.1': 2, '1.2.840.10045.2.1': 3, '1.3.101.112': 4,
};
const CURVE_BYTES: Readonly<Record<string, number>> = {
  '1.3.132.0.33': 28, '1.2.840.10045.3.1.7': 32, '1.3.132.0.34': 48, '1.3.132.0.35': 66,
};

const oid = (el: Element): string => oidArcs(el.content).join('.');

function signatureAlgorithm(ai: DerReader): number {
  const id = oid(ai.read('x509: malformed algorithm identifier', TAG.OID));
  if (id !== RSA_PSS) return SIGNATURE_ALGORITHMS[id] ?? 0;
  // Go accepts only matching MGF1 hash and salt = hash length.
  try {
    const p = ai.enter('pss', TAG.SEQUENCE);
    const hash = oid(p.enter('pss', ctx(0, true)).enter('pss', TAG.SEQUENCE).read('pss', TAG.OID));
    const mgf = p.enter('pss', ctx(1, true)).enter('pss', TAG.SEQUENCE);
    const mgfOk = oid(mgf.read('pss', TAG.OID)) === '1.2.840.113549.1.1.8' && oid(mgf.enter('pss', TAG.SEQUENCE).read('pss', TAG.OID)) === hash;
    const salt = integer(p.enter('pss', ctx(2, true)).read('pss', TAG.INTEGER).content);
    const trailer = p.readOptional('pss', ctx(3, true));
    const [algo, wantSalt] = PSS_BY_HASH[hash] ?? [0, -1n];
    return mgfOk && salt === wantSalt && (!trailer || integer(new DerReader(trailer.content).read('pss', TAG.INTEGER).content) === 1n) ? algo : 0;
  } catch {
    return 0;
  }
}

function publicKey(algorithm: number, ai: DerReader, key: Buffer): unknown {
  if (algorithm === 1) {
    if (ai.peek() !== TAG.NULL) throw new Error('x509: RSA key missing NULL parameters');
    const r = new DerReader(key).enter('x509: invalid RSA public key', TAG.SEQUENCE);
    const n = integer(r.read('x509: invalid RSA modulus', TAG.INTEGER).content);
    const e = integer(r.read('x509: invalid RSA public exponent', TAG.INTEGER).content);
    if (n <= 0n) throw new Error('x509: RSA modulus is not a positive number');
    if (e <= 0n) throw new Error('x509: RSA public exponent is not a positive number');
    return { N: new ExactInt(n), E: new ExactInt(e) };
  }
  if (algorithm === 3) {
    const size = CURVE_BYTES[oid(ai.read('x509: invalid ECDSA parameters', TAG.OID))];
    if (size === undefined) throw new Error('x509: unsupported elliptic curve');
    if (key[0] !== 4 || key.length !== 1 + 2 * size) throw new Error('invalid public key');
    const coord = (b: Buffer): ExactInt => new ExactInt(BigInt(`0x${b.toString('hex')}`));
    return { Curve: {}, X: coord(key.subarray(1, 1 + size)), Y: coord(key.subarray(1 + size)) };
  }
  if (algorithm === 4) {
    if (!ai.empty) throw new Error('x509: Ed25519 key encoded with illegal parameters');
    if (key.length !== 32) throw new Error('x509: wrong Ed25519 public key size');
    return Buffer.from(key);
  }
  return null;
}

function asn1String(el: Element): string {
  const b = el.content;
  switch (el.tag) {
    case TAG.T61String: return b.toString('latin1');
    case TAG.PrintableString:
      if (!/^[a-zA-Z0-9'()+,\-./:=? *&]*$/.test(b.toString('latin1'))) throw new Error('invalid PrintableString');
      return b.toString('latin1');
    case TAG.UTF8String:
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(b);
      } catch {
        throw new Error('invalid UTF-8 string');
      }
    case TAG.BMPString: {
      if (b.length % 2 !== 0) throw new Error('invalid BMPString');
      const units = Array.from({ length: b.length / 2 }, (_, i) => b.readUInt16BE(2 * i));
      if (units.at(-1) === 0) units.pop();
      if (units.some((u) => u === 0xfffe || u === 0xffff || (u >= 0xfdd0 && u <= 0xfdef) || (u >= 0xd800 && u <= 0xdfff))) throw new Error('invalid BMPString');
      return String.fromCharCode(...units);
    }
    case TAG.IA5String:
      if (b.some((c) => c >= 0x80)) throw new Error('invalid IA5String');
      return b.toString('latin1');
    case TAG.NumericString:
      if (!/^[0-9 ]*$/.test(b.toString('latin1'))) throw new Error('invalid NumericString');
      return b.toString('latin1');
  }
  throw new Error(`unsupported string type: ${el.tag}`);
}

/** Go's pkix.Name from an RDNSequence. */
function parseName(raw: Element): Record<string, unknown> {
  const name: Record<string, unknown> = {
    Country: null, Organization: null, OrganizationalUnit: null, Locality: null, Province: null,
    StreetAddress: null, PostalCode: null, SerialNumber: '', CommonName: '', Names: null, ExtraNames: null,
  };
  const lists: Readonly<Record<string, string>> = {
    '2.5.4.6': 'Country', '2.5.4.7': 'Locality', '2.5.4.8': 'Province', '2.5.4.9': 'StreetAddress',
    '2.5.4.10': 'Organization', '2.5.4.11': 'OrganizationalUnit', '2.5.4.17': 'PostalCode',
  };
  const names: unknown[] = [];
  const r = new DerReader(raw.content);
  while (!r.empty) {
    const set = r.enter('x509: invalid RDNSequence', TAG.SET);
    while (!set.empty) {
      const atv = set.enter('x509: invalid RDNSequence: invalid attribute', TAG.SEQUENCE);
      const type = oidArcs(atv.read('x509: invalid RDNSequence: invalid attribute type', TAG.OID).content);
      let value: string;
      try {
        value = asn1String(atv.read('x509: invalid RDNSequence: invalid attribute value'));
      } catch (err) {
        throw new Error(`x509: invalid RDNSequence: invalid attribute value: ${messageOf(err)}`);
      }
      names.push({ Type: type, Value: value });
      const id = type.join('.');
      if (id === '2.5.4.3') name['CommonName'] = value;
      else if (id === '2.5.4.5') name['SerialNumber'] = value;
      else if (lists[id]) name[lists[id]] = [...((name[lists[id]] as string[] | null) ?? []), value];
    }
  }
  if (names.length > 0) name['Names'] = names;
  return name;
}

/** UTCTime/GeneralizedTime as Go's time.Time JSON (RFC 3339, nanoseconds only when present). */
function parseTime(el: Element): string {
  const text = el.content.toString('latin1');
  const m = el.tag === TAG.UTCTime
    ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)?()(Z|[+-]\d{4})$/.exec(text)
    : el.tag === TAG.GeneralizedTime ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\.\d*[1-9])?(Z|[+-]\d{4})$/.exec(text) : null;
  if (!m) throw new Error(el.tag === TAG.UTCTime ? 'x509: malformed UTCTime' : el.tag === TAG.GeneralizedTime ? 'x509: malformed GeneralizedTime' : 'x509: unsupported time format');
  const [, y, mo, d, h, mi, s = '00', frac = '', zone = 'Z'] = m;
  const year = y!.length === 2 ? (Number(y) >= 50 ? `19${y}` : `20${y}`) : y!;
  parseGoTime('2006-01-02T15:04:05', `${year}-${mo}-${d}T${h}:${mi}:${s}`); // rejects impossible dates
  const offset = zone === 'Z' || /^[+-]0000$/.test(zone) ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  return `${year}-${mo}-${d}T${h}:${mi}:${s}${frac}${offset}`;
}

function parseCertificate(input: DerReader): Record<string, unknown> {
  const certEl = input.read('x509: malformed certificate', TAG.SEQUENCE);
  const cert = new DerReader(certEl.content);
  const tbsEl = cert.read('x509: malformed tbs certificate', TAG.SEQUENCE);
  const tbs = new DerReader(tbsEl.content);
  const v = tbs.readOptional('x509: malformed version', ctx(0, true));
  const version = (v ? Number(integer(new DerReader(v.content).read('x509: malformed version', TAG.INTEGER).content)) : 0) + 1;
  if (version < 1) throw new Error('x509: malformed version');
  if (version > 3) throw new Error('x509: invalid version');
  const serial = integer(tbs.read('x509: malformed serial number', TAG.INTEGER).content);
  if (serial < 0n) throw new Error('x509: negative serial number');
  const sigAI = tbs.read('x509: malformed signature algorithm identifier', TAG.SEQUENCE);
  const outerAI = cert.read('x509: malformed algorithm identifier', TAG.SEQUENCE);
  if (!sigAI.raw.equals(outerAI.raw)) throw new Error("x509: inner and outer signature algorithm identifiers don't match");
  const issuer = tbs.read('x509: malformed issuer', TAG.SEQUENCE);
  const validity = tbs.enter('x509: malformed validity', TAG.SEQUENCE);
  const notBefore = parseTime(validity.read('x509: malformed validity'));
  const notAfter = parseTime(validity.read('x509: malformed validity'));
  const subject = tbs.read('x509: malformed issuer', TAG.SEQUENCE);
  const spkiEl = tbs.read('x509: malformed spki', TAG.SEQUENCE);
  const spki = new DerReader(spkiEl.content);
  const pkAI = spki.enter('x509: malformed public key algorithm identifier', TAG.SEQUENCE);
  const pkAlgorithm = PUBLIC_KEY_ALGORITHMS[oid(pkAI.read('x509: malformed public key algorithm identifier', TAG.OID))] ?? 0;
  const spk = bitString(spki.read('x509: malformed subjectPublicKey', TAG.BIT_STRING).content).bytes;

  const extensions: Extension[] = [];
  if (version > 1) {
    tbs.readOptional('x509: malformed issuerUniqueID', ctx(1));
    tbs.readOptional('x509: malformed subjectUniqueID', ctx(2));
    const extsEl = version === 3 ? tbs.readOptional('x509: malformed extensions', ctx(3, true)) : undefined;
    const exts = extsEl && new DerReader(extsEl.content).enter('x509: malformed extensions', TAG.SEQUENCE);
    while (exts && !exts.empty) {
      const e = exts.enter('x509: malformed extension', TAG.SEQUENCE);
      const Id = oidArcs(e.read('x509: malformed extension OID field', TAG.OID).content);
      const crit = e.readOptional('x509: malformed extension critical field', TAG.BOOLEAN);
      const Value = Buffer.from(e.read('x509: malformed extension value field', TAG.OCTET_STRING).content);
      if (extensions.some((x) => x.Id.join('.') === Id.join('.'))) {
        throw new Error(`x509: certificate contains duplicate extension with OID "${Id.join('.')}"`);
      }
      extensions.push({ Id, Critical: crit !== undefined && crit.content[0] !== 0, Value });
    }
  }
  const signature = bitString(cert.read('x509: malformed signature', TAG.BIT_STRING).content).bytes;

  const out: Record<string, unknown> = {
    Raw: Buffer.from(certEl.raw), RawTBSCertificate: Buffer.from(tbsEl.raw), RawSubjectPublicKeyInfo: Buffer.from(spkiEl.raw),
    RawSubject: Buffer.from(subject.raw), RawIssuer: Buffer.from(issuer.raw), Signature: Buffer.from(signature),
    SignatureAlgorithm: signatureAlgorithm(new DerReader(sigAI.content)), PublicKeyAlgorithm: pkAlgorithm,
    PublicKey: publicKey(pkAlgorithm, pkAI, spk), Version: version, SerialNumber: new ExactInt(serial),
    Issuer: parseName(issuer), Subject: parseName(subject), NotBefore: notBefore, NotAfter: notAfter,
    KeyUsage: 0, Extensions: extensions.length > 0 ? extensions : null, ExtraExtensions: null, UnhandledCriticalExtensions: null,
    ExtKeyUsage: null, UnknownExtKeyUsage: null, BasicConstraintsValid: false, IsCA: false, MaxPathLen: 0, MaxPathLenZero: false,
    SubjectKeyId: null, AuthorityKeyId: null, OCSPServer: null, IssuingCertificateURL: null,
    DNSNames: null, EmailAddresses: null, IPAddresses: null, URIs: null, URIStrings: null,
    PermittedDNSDomainsCritical: false, PermittedDNSDomains: null, ExcludedDNSDomains: null, PermittedIPRanges: null,
    ExcludedIPRanges: null, PermittedEmailAddresses: null, ExcludedEmailAddresses: null, PermittedURIDomains: null,
    ExcludedURIDomains: null, CRLDistributionPoints: null, PolicyIdentifiers: null, Policies: null,
    InhibitAnyPolicy: 0, InhibitAnyPolicyZero: false, InhibitPolicyMapping: 0, InhibitPolicyMappingZero: false,
    RequireExplicitPolicy: 0, RequireExplicitPolicyZero: false, PolicyMappings: null,
  };
  applyExtensions(extensions, out);
  return out;
}

function pemCertificates(text: string): Buffer {
  const blocks: Buffer[] = [];
  for (let b = decodePem(text); b !== null; b = decodePem(b.rest)) {
    if (b.type !== 'CERTIFICATE') throw new Error(`PEM block type is '${b.type}', expected CERTIFICATE`);
    blocks.push(b.bytes);
  }
  return Buffer.concat(blocks);
}

/** OPA's input forms: PEM, base64 of PEM, or base64 of DER (one or more certificates). */
function certificateBytes(text: string): Buffer {
  if (text.startsWith('-----BEGIN')) return pemCertificates(text);
  const bytes = decodeStdBase64(text);
  if (bytes.subarray(0, 10).toString('latin1') === '-----BEGIN') return pemCertificates(bytes.toString('latin1'));
  return bytes;
}

/** The `crypto.x509.parse_certificates` builtin. */
export function parseCertificates(input: unknown): ArrayBuffer {
  const text = stringArg(NAME, 1, input);
  try {
    const der = new DerReader(certificateBytes(text));
    const certs: unknown[] = [];
    while (!der.empty) certs.push(parseCertificate(der));
    return rawJson(toJsonText(certs));
  } catch (err) {
    throw new BuiltinError(NAME, messageOf(err));
  }
}
