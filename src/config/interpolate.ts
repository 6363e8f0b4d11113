/**
 * `${VAR}` / `${VAR:-default}` substitution in string values. `$${` is a literal `${`.
 * Pure: the caller turns a failure into a positioned ConfigError.
 */
export type InterpolationResult =
  | { ok: true; value: string; changed: boolean }
  | { ok: false; message: string; hint: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function interpolate(text: string, env: NodeJS.ProcessEnv): InterpolationResult {
  if (!text.includes('${')) return { ok: true, value: text, changed: false };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const at = text.indexOf('$', i);
    if (at < 0) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, at);
    if (text.startsWith('$${', at)) {
      out += '${';
      i = at + 3;
      continue;
    }
    if (!text.startsWith('${', at)) {
      out += '$';
      i = at + 1;
      continue;
    }
    const close = text.indexOf('}', at + 2);
    if (close < 0) {
      return { ok: false, message: `unterminated \${ in "${text}"`, hint: 'close it with }, or write $${ for a literal ${' };
    }
    const body = text.slice(at + 2, close);
    const sep = body.indexOf(':-');
    const name = sep < 0 ? body : body.slice(0, sep);
    if (!NAME.test(name)) {
      return {
        ok: false,
        message: `invalid variable reference \${${body}}`,
        hint: 'use ${NAME} or ${NAME:-default} (letters, digits, _); write $${ for a literal ${',
      };
    }
    const value = env[name];
    if (sep >= 0) {
      out += value === undefined || value === '' ? body.slice(sep + 2) : value;
    } else if (value === undefined) {
      return {
        ok: false,
        message: `environment variable ${name} is not set`,
        hint: `set ${name}, or give a default: \${${name}:-value}`,
      };
    } else {
      out += value;
    }
    i = close + 1;
  }
  return { ok: true, value: out, changed: true };
}

/**
 * An unquoted scalar made only of a substitution (`port: ${PORT}`) should type like the value
 * would have typed when written literally, so `8080` becomes a number and `false` a boolean.
 */
export function retypePlainScalar(value: string): string | number | boolean | null {
  if (/^[-+]?[0-9]+$/.test(value)) return Number(value);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(value)) return Number(value);
  if (/^(true|True|TRUE)$/.test(value)) return true;
  if (/^(false|False|FALSE)$/.test(value)) return false;
  if (/^(null|Null|NULL|~)?$/.test(value)) return null;
  return value;
}
