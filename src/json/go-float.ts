/**
 * float64 → text as Go's strconv.FormatFloat(f, 'g', -1, 64) writes it,
 * which is how OPA turns a protobuf Struct number into a Rego number:
 * shortest digits, exponent form below 1e-4 and from 1e6 on (`1e+06`).
 */
export function goFloatG(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`not a finite number: ${n}`);
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const [mantissa, expText] = n.toExponential().split('e') as [string, string];
  const exp = Number(expText);
  if (exp < -4 || exp >= 6) {
    const abs = Math.abs(exp);
    return `${mantissa}e${exp < 0 ? '-' : '+'}${abs < 10 ? '0' : ''}${abs}`;
  }
  return String(n);
}
