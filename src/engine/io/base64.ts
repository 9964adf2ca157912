import { modelFileError } from '../errors.js';

/** Standard base64 with padding (RFC 4648 §4), as Go's base64.StdEncoding; no Node Buffer so the engine stays portable. */
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const LOOKUP = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) LOOKUP[ALPHABET.charCodeAt(i)] = i;

export function encodeBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let chunk = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = i + 1 < bytes.length ? (bytes[i + 1] as number) : 0;
    const c = i + 2 < bytes.length ? (bytes[i + 2] as number) : 0;
    const n = (a << 16) | (b << 8) | c;
    chunk +=
      ALPHABET[(n >>> 18) & 63]! +
      ALPHABET[(n >>> 12) & 63]! +
      (i + 1 < bytes.length ? ALPHABET[(n >>> 6) & 63]! : '=') +
      (i + 2 < bytes.length ? ALPHABET[n & 63]! : '=');
    if (chunk.length >= 8192) {
      parts.push(chunk);
      chunk = '';
    }
  }
  parts.push(chunk);
  return parts.join('');
}

export function decodeBase64(text: string, what: string): Uint8Array {
  const s = text.replace(/[\r\n]/g, '');
  if (s.length % 4 !== 0) throw modelFileError(`${what}: base64 length ${s.length} is not a multiple of 4`);
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const code = s.charCodeAt(i + j);
      const isPad = code === 61 && i + j >= s.length - pad;
      const v = isPad ? 0 : code < 128 ? (LOOKUP[code] as number) : -1;
      if (v < 0) throw modelFileError(`${what}: invalid base64 character ${JSON.stringify(s[i + j])} at ${i + j}`);
      n = (n << 6) | v;
    }
    if (o < out.length) out[o++] = (n >>> 16) & 255;
    if (o < out.length) out[o++] = (n >>> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
