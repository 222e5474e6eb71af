// A small parser for the Python literal a .npy header is (dict, tuple, list, str, int,
// True/False/None), with a nesting limit so a fuzzed header cannot recurse without bound (npy.ts
// caps the header's length before it gets here), and pyRepr to quote a value back in a message.
import { SaeMatchInputError } from '../errors.js';

export type PyValue =
  | { kind: 'str'; value: string }
  | { kind: 'int'; value: bigint }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' }
  | { kind: 'tuple'; items: PyValue[] }
  | { kind: 'list'; items: PyValue[] }
  | { kind: 'dict'; entries: [PyValue, PyValue][] };

export function pyRepr(v: PyValue): string {
  switch (v.kind) {
    case 'str':
      return `'${v.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
    case 'int':
      return v.value.toString();
    case 'bool':
      return v.value ? 'True' : 'False';
    case 'none':
      return 'None';
    case 'tuple':
      return v.items.length === 1 ? `(${pyRepr(v.items[0])},)` : `(${v.items.map(pyRepr).join(', ')})`;
    case 'list':
      return `[${v.items.map(pyRepr).join(', ')}]`;
    case 'dict':
      return `{${v.entries.map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`).join(', ')}}`;
  }
}

export class PyLiteralParser {
  private pos = 0;
  private depth = 0;
  constructor(
    private readonly text: string,
    private readonly source: string,
  ) {}

  parse(): PyValue {
    const v = this.value();
    this.skipSpace();
    if (this.pos !== this.text.length) this.error('unexpected text after the header dict');
    return v;
  }

  private error(what: string): never {
    const snippet = JSON.stringify(this.text.slice(this.pos, this.pos + 20));
    throw new SaeMatchInputError(`${this.source}: malformed .npy header: ${what} at offset ${this.pos} (near ${snippet})`);
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && /\s/.test(this.text[this.pos])) this.pos++;
  }

  private value(): PyValue {
    if (++this.depth > 32) this.error('nesting too deep');
    try {
      return this.valueInner();
    } finally {
      this.depth--;
    }
  }

  private valueInner(): PyValue {
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === undefined) this.error('unexpected end of header');
    if (c === '{') return this.dict();
    if (c === '(') return this.sequence(')', 'tuple');
    if (c === '[') return this.sequence(']', 'list');
    if (c === "'" || c === '"') return { kind: 'str', value: this.string() };
    if (c === '-' || c === '+' || (c >= '0' && c <= '9')) return this.int();
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.text.slice(this.pos, this.pos + 64));
    if (word) {
      if (word[0] === 'True' || word[0] === 'False') {
        this.pos += word[0].length;
        return { kind: 'bool', value: word[0] === 'True' };
      }
      if (word[0] === 'None') {
        this.pos += 4;
        return { kind: 'none' };
      }
      this.error(`unexpected name '${word[0]}'`);
    }
    this.error(`unexpected character ${JSON.stringify(c)}`);
  }

  private dict(): PyValue {
    this.pos++; // {
    const entries: [PyValue, PyValue][] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === '}') {
        this.pos++;
        return { kind: 'dict', entries };
      }
      const key = this.value();
      this.skipSpace();
      if (this.text[this.pos] !== ':') this.error("expected ':'");
      this.pos++;
      const val = this.value();
      entries.push([key, val]);
      this.skipSpace();
      if (this.text[this.pos] === ',') this.pos++;
      else if (this.text[this.pos] !== '}') this.error("expected ',' or '}'");
    }
  }

  private sequence(close: ')' | ']', kind: 'tuple' | 'list'): PyValue {
    this.pos++; // ( or [
    const items: PyValue[] = [];
    let sawComma = false;
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) {
        this.pos++;
        // (x) without a comma is just a parenthesised value in Python.
        if (kind === 'tuple' && items.length === 1 && !sawComma) return items[0];
        return kind === 'tuple' ? { kind: 'tuple', items } : { kind: 'list', items };
      }
      items.push(this.value());
      this.skipSpace();
      if (this.text[this.pos] === ',') {
        this.pos++;
        sawComma = true;
      } else if (this.text[this.pos] !== close) this.error(`expected ',' or '${close}'`);
    }
  }

  private string(): string {
    const quote = this.text[this.pos++];
    let out = '';
    for (;;) {
      const c = this.text[this.pos++];
      if (c === undefined) this.error('unterminated string');
      if (c === quote) return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[this.pos++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', '\\': '\\', "'": "'", '"': '"' };
      if (e !== undefined && e in simple) out += simple[e];
      else if (e === 'x' || e === 'u') {
        const len = e === 'x' ? 2 : 4;
        const hex = this.text.slice(this.pos, this.pos + len);
        if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(hex)) this.error('bad escape in string');
        out += String.fromCharCode(parseInt(hex, 16));
        this.pos += len;
      } else this.error('unsupported escape in string');
    }
  }

  private int(): PyValue {
    const m = /^[-+]?[0-9]+L?/.exec(this.text.slice(this.pos, this.pos + 64));
    if (!m) this.error('expected an integer');
    const next = this.text[this.pos + m[0].length];
    if (next === '.' || next === 'e' || next === 'E') this.error('expected an integer, got a float');
    this.pos += m[0].length;
    return { kind: 'int', value: BigInt(m[0].replace(/L$/, '').replace(/^\+/, '')) };
  }
}
