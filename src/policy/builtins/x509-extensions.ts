/**
 * The certificate fields Go's x509 derives from extensions
 * (crypto/x509/parser.go processExtensions, Go 1.26), in Go's JSON shape.
 * Not reproduced: Go's validation of DNS names and e-mail addresses in
 * name constraints and SANs.
 */
import { DerReader, TAG, bitString, ctx, integer, oidArcs, type Element } from './asn1.js';
import { goUrlJson } from './go-url.js';

/** One extension, as Go's pkix.Extension. */
export interface Extension {
  readonly Id: number[];
  readonly Critical: boolean;
  readonly Value: Buffer;
}

const EXT_KEY_USAGES: readonly string[] = [
  '2.5.29.37.0', '1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.3', '1.3.6.1.5.5.7.3.4', '1.3.6.1.5.5.7.3.5',
  '1.3.6.1.5.5.7.3.6', '1.3.6.1.5.5.7.3.7', '1.3.6.1.5.5.7.3.8', '1.3.6.1.5.5.7.3.9', '1.3.6.1.4.1.311.10.3.3',
  '2.16.840.1.113730.4.1', '1.3.6.1.4.1.311.2.1.22', '1.3.6.1.4.1.311.61.1.1',
]; // index = Go's ExtKeyUsage value

const AIA = '1.3.6.1.5.5.7.1.1';
const OCSP = '1.3.6.1.5.5.7.48.1';
const CA_ISSUERS = '1.3.6.1.5.5.7.48.2';

/** Go's net.IP text form. */
export function ipString(b: Buffer): string {
  const v4 = b.length === 4 ? b : b.length === 16 && b.subarray(0, 12).equals(Buffer.from('00000000000000000000ffff', 'hex')) ? b.subarray(12) : undefined;
  if (v4) return [...v4].join('.');
  const groups = Array.from({ length: 8 }, (_, i) => b.readUInt16BE(i * 2));
  let best = -1, bestLen = 0; // longest run of zero groups, at least two
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

const oidOf = (el: Element): number[] => oidArcs(el.content);
const seq = (buf: Buffer, what: string): DerReader => new DerReader(buf).enter(what, TAG.SEQUENCE);

function sans(value: Buffer, out: Record<string, unknown>): boolean {
  const r = seq(value, 'x509: invalid subject alternative names');
  const dns: string[] = [], emails: string[] = [], ips: string[] = [], uris: unknown[] = [], uriStrings: string[] = [];
  while (!r.empty) {
    const el = r.read('x509: invalid subject alternative name');
    const text = el.content.toString('latin1');
    switch (el.tag) {
      case ctx(1): emails.push(text); break;
      case ctx(2): dns.push(text); break;
      case ctx(6):
        try {
          uris.push(goUrlJson(text));
        } catch (err) {
          throw new Error(`x509: cannot parse URI ${JSON.stringify(text)}: ${(err as Error).message}`);
        }
        uriStrings.push(text);
        break;
      case ctx(7):
        if (el.content.length !== 4 && el.content.length !== 16) throw new Error(`x509: cannot parse IP address of length ${el.content.length}`);
        ips.push(ipString(el.content));
        break;
    }
  }
  const orNull = <T>(a: T[]): T[] | null => (a.length > 0 ? a : null);
  Object.assign(out, {
    DNSNames: orNull(dns), EmailAddresses: orNull(emails), IPAddresses: orNull(ips), URIs: orNull(uris), URIStrings: orNull(uriStrings),
  });
  return dns.length + emails.length + ips.length + uris.length === 0;
}

function nameConstraints(ext: Extension, out: Record<string, unknown>): boolean {
  const top = seq(ext.Value, 'x509: invalid NameConstraints extension');
  let unhandled = false;
  const subtrees = (el: Element | undefined): Record<string, unknown[] | null> => {
    const dns: string[] = [], ips: unknown[] = [], emails: string[] = [], uris: string[] = [];
    const r = new DerReader(el?.content ?? Buffer.alloc(0));
    while (!r.empty) {
      const base = r.enter('x509: invalid NameConstraints extension', TAG.SEQUENCE).read('x509: invalid NameConstraints extension');
      const text = base.content.toString('latin1');
      if (base.tag === ctx(2)) dns.push(text);
      else if (base.tag === ctx(1)) emails.push(text);
      else if (base.tag === ctx(6)) uris.push(text);
      else if (base.tag === ctx(7)) {
        const n = base.content.length / 2;
        if (n !== 4 && n !== 16) throw new Error(`x509: IP constraint contained value of length ${base.content.length}`);
        ips.push({ IP: ipString(base.content.subarray(0, n)), Mask: base.content.subarray(n) });
      } else unhandled = true;
    }
    const orNull = <T>(a: T[]): T[] | null => (a.length > 0 ? a : null);
    return { DNSDomains: orNull(dns), IPRanges: orNull(ips), EmailAddresses: orNull(emails), URIDomains: orNull(uris) };
  };
  const permitted = top.readOptional('x509: invalid NameConstraints extension', ctx(0, true));
  const excluded = top.readOptional('x509: invalid NameConstraints extension', ctx(1, true));
  if (!top.empty) throw new Error('x509: invalid NameConstraints extension');
  if (!permitted?.content.length && !excluded?.content.length) throw new Error('x509: empty name constraints extension');
  for (const [prefix, el] of [['Permitted', permitted], ['Excluded', excluded]] as const) {
    for (const [k, v] of Object.entries(subtrees(el))) out[`${prefix}${k}`] = v;
  }
  out['PermittedDNSDomainsCritical'] = ext.Critical;
  return unhandled;
}

function policies(value: Buffer, out: Record<string, unknown>): void {
  const r = seq(value, 'x509: invalid certificate policies');
  const oids: number[][] = [];
  while (!r.empty) oids.push(oidOf(r.enter('x509: invalid certificate policies', TAG.SEQUENCE).read('x509: invalid certificate policies', TAG.OID)));
  out['Policies'] = oids.map((o) => o.join('.'));
  out['PolicyIdentifiers'] = oids;
}

/** Fills `out` from the extensions; throws Go's error text for malformed ones. */
export function applyExtensions(exts: readonly Extension[], out: Record<string, unknown>): void {
  const unhandledCritical: number[][] = [];
  for (const e of exts) {
    const id = e.Id.join('.');
    let unhandled = false;
    const v = new DerReader(e.Value);
    switch (id) {
      case '2.5.29.15': { // key usage: bit i (from the most significant) sets 1 << i
        const { bytes } = bitString(v.read('x509: invalid key usage', TAG.BIT_STRING).content);
        let usage = 0;
        for (let i = 0; i < 9; i++) if ((bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) usage |= 1 << i;
        out['KeyUsage'] = usage;
        break;
      }
      case '2.5.29.19': {
        const bc = v.enter('x509: invalid basic constraints', TAG.SEQUENCE);
        const ca = bc.readOptional('x509: invalid basic constraints', TAG.BOOLEAN);
        const len = bc.readOptional('x509: invalid basic constraints', TAG.INTEGER);
        out['IsCA'] = ca !== undefined && ca.content[0] !== 0;
        out['MaxPathLen'] = len ? Number(integer(len.content)) : -1;
        out['BasicConstraintsValid'] = true;
        out['MaxPathLenZero'] = out['MaxPathLen'] === 0;
        break;
      }
      case '2.5.29.17': unhandled = sans(e.Value, out); break;
      case '2.5.29.30': unhandled = nameConstraints(e, out); break;
      case '2.5.29.31': { // CRL distribution points: fullName URIs only
        const points: string[] = [];
        const r = v.enter('x509: invalid CRL distribution points', TAG.SEQUENCE);
        while (!r.empty) {
          const name = r.enter('x509: invalid CRL distribution point', TAG.SEQUENCE).readOptional('x509: invalid CRL distribution point', ctx(0, true));
          if (!name) continue;
          const full = new DerReader(name.content).enter('x509: invalid CRL distribution point', ctx(0, true));
          while (full.peek() === ctx(6)) points.push(full.read('x509: invalid CRL distribution point').content.toString('latin1'));
        }
        out['CRLDistributionPoints'] = points.length > 0 ? points : null;
        break;
      }
      case '2.5.29.35': {
        if (e.Critical) throw new Error('x509: authority key identifier incorrectly marked critical');
        const akid = v.enter('x509: invalid authority key identifier', TAG.SEQUENCE).readOptional('x509: invalid authority key identifier', ctx(0));
        out['AuthorityKeyId'] = akid ? Buffer.from(akid.content) : null;
        break;
      }
      case '2.5.29.36': {
        const r = v.enter('x509: invalid policy constraints extension', TAG.SEQUENCE);
        for (const [tag, name] of [[ctx(0), 'RequireExplicitPolicy'], [ctx(1), 'InhibitPolicyMapping']] as const) {
          const el = r.readOptional('x509: invalid policy constraints extension', tag);
          if (el) [out[name], out[`${name}Zero`]] = [Number(integer(el.content)), integer(el.content) === 0n];
        }
        break;
      }
      case '2.5.29.37': {
        const known: number[] = [], unknown: number[][] = [];
        const r = v.enter('x509: invalid extended key usages', TAG.SEQUENCE);
        while (!r.empty) {
          const oid = oidOf(r.read('x509: invalid extended key usages', TAG.OID));
          const i = EXT_KEY_USAGES.indexOf(oid.join('.'));
          if (i >= 0) known.push(i);
          else unknown.push(oid);
        }
        out['ExtKeyUsage'] = known.length > 0 ? known : null;
        out['UnknownExtKeyUsage'] = unknown.length > 0 ? unknown : null;
        break;
      }
      case '2.5.29.14':
        if (e.Critical) throw new Error('x509: subject key identifier incorrectly marked critical');
        out['SubjectKeyId'] = Buffer.from(v.read('x509: invalid subject key identifier', TAG.OCTET_STRING).content);
        break;
      case '2.5.29.32': policies(e.Value, out); break;
      case '2.5.29.33': {
        const maps: unknown[] = [];
        const r = v.enter('x509: invalid policy mappings extension', TAG.SEQUENCE);
        while (!r.empty) {
          const m = r.enter('x509: invalid policy mappings extension', TAG.SEQUENCE);
          const issuer = oidOf(m.read('x509: invalid policy mappings extension', TAG.OID)).join('.');
          maps.push({ IssuerDomainPolicy: issuer, SubjectDomainPolicy: oidOf(m.read('x509: invalid policy mappings extension', TAG.OID)).join('.') });
        }
        out['PolicyMappings'] = maps.length > 0 ? maps : null;
        break;
      }
      case '2.5.29.54': {
        const n = integer(v.read('x509: invalid inhibit any policy extension', TAG.INTEGER).content);
        [out['InhibitAnyPolicy'], out['InhibitAnyPolicyZero']] = [Number(n), n === 0n];
        break;
      }
      case AIA: {
        if (e.Critical) throw new Error('x509: authority info access incorrectly marked critical');
        const ocsp: string[] = [], issuers: string[] = [];
        const r = v.enter('x509: invalid authority info access', TAG.SEQUENCE);
        while (!r.empty) {
          const ad = r.enter('x509: invalid authority info access', TAG.SEQUENCE);
          const method = oidOf(ad.read('x509: invalid authority info access', TAG.OID)).join('.');
          const loc = ad.readOptional('x509: invalid authority info access', ctx(6))?.content.toString('latin1');
          if (loc !== undefined && method === OCSP) ocsp.push(loc);
          if (loc !== undefined && method === CA_ISSUERS) issuers.push(loc);
        }
        out['OCSPServer'] = ocsp.length > 0 ? ocsp : null;
        out['IssuingCertificateURL'] = issuers.length > 0 ? issuers : null;
        break;
      }
      default:
        unhandled = true; // Go records unknown extensions only if critical
    }
    if (e.Critical && unhandled) unhandledCritical.push(e.Id);
  }
  out['UnhandledCriticalExtensions'] = unhandledCritical.length > 0 ? unhandledCritical : null;
}
