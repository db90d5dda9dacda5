import { describe, expect, it } from 'vitest';
import type { RosterItem } from '../../src/csv/index.js';
import { FleetError } from '../../src/errors/index.js';
import { readBytes } from '../helpers/read-roster-text.js';

/** Deterministic PRNG (mulberry32) so a failure replays exactly. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HEADER = 'username,email,exchange_server,proxy,auth,mutual_auth,host,office,profile_name';
const encoder = new TextEncoder();
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function validRow(index: number): string[] {
  return [
    `user${index}`,
    `u${index}@contoso.fr`,
    'exch01',
    'https://mail.contoso.fr',
    'ntlm',
    'no',
    `ws-${index}.demo.lan`,
    '2010',
    'Outlook',
  ];
}

/** Bytes for one cell: random bytes, control characters, huge text, accented text, formula text. */
function mutateCell(random: () => number, cell: string, allowStructure: boolean): number[] {
  const pick = Math.floor(random() * 7);
  const bytes = Array.from(encoder.encode(cell));
  const forbidden = allowStructure ? [] : [0x0a, 0x0d, 0x22, 0x2c];
  const randomByte = (): number => {
    for (;;) {
      const byte = Math.floor(random() * 256);
      if (!forbidden.includes(byte)) return byte;
    }
  };
  switch (pick) {
    case 0:
      return Array.from({ length: 1 + Math.floor(random() * 40) }, randomByte);
    case 1: {
      const at = Math.floor(random() * (bytes.length + 1));
      bytes.splice(at, 0, Math.floor(random() * 32) === 10 && !allowStructure ? 7 : Math.floor(random() * 32));
      return bytes.filter((byte) => allowStructure || !forbidden.includes(byte));
    }
    case 2:
      return Array.from(encoder.encode('x'.repeat(1000 + Math.floor(random() * (allowStructure ? 4000 : 20000)))));
    case 3:
      return Array.from(encoder.encode(`${cell}éü€Ж`));
    case 4:
      return allowStructure ? [0x22, ...bytes] : Array.from(encoder.encode(`=${cell}`));
    case 5:
      return allowStructure ? [...bytes, 0x22, 0x0a, ...bytes] : bytes.slice(0, Math.floor(bytes.length / 2));
    default:
      return bytes;
  }
}

function buildFile(random: () => number, rows: number, firstIndex: number, allowStructure: boolean): Uint8Array {
  const parts: Uint8Array[] = [encoder.encode(`${HEADER}\n`)];
  const comma = Uint8Array.of(0x2c);
  for (let r = 0; r < rows; r++) {
    // About 40% of rows get one mutated cell, so both outcomes are well represented.
    const target = random() < 0.4 ? Math.floor(random() * 9) : -1;
    const cells = validRow(firstIndex + r).map((cell, i) =>
      i === target ? Uint8Array.from(mutateCell(random, cell, allowStructure)) : encoder.encode(cell),
    );
    if (random() < 0.05) cells.pop(); // ragged: one field short
    if (random() < 0.05) cells.push(Uint8Array.of(0x78)); // ragged: one field more
    cells.forEach((cell, i) => {
      if (i > 0) parts.push(comma);
      parts.push(cell);
    });
    parts.push(random() < 0.5 ? Uint8Array.of(0x0d, 0x0a) : Uint8Array.of(0x0a));
  }
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** Problems found (one expect per file keeps 10,000 rows fast): a control character in an accepted value, etc. */
function findUnsafe(items: RosterItem[]): string[] {
  const problems: string[] = [];
  for (const item of items) {
    if (item.kind === 'accepted') {
      for (const value of Object.values(item.row.spec)) {
        if (typeof value === 'string' && CONTROL.test(value))
          problems.push(`line ${item.row.line}: ${JSON.stringify(value)}`);
      }
    } else if (item.rejection.reason.length === 0 || CONTROL.test(item.rejection.value)) {
      problems.push(`line ${item.rejection.line}: unsafe rejection`);
    }
  }
  return problems;
}

const lineOf = (item: RosterItem): number => (item.kind === 'accepted' ? item.row.line : item.rejection.line);

describe('CSV fuzz (10,000 mutated rows)', () => {
  it('accounts for every row at its own line when mutations keep one row per line', async () => {
    const random = createRandom(0xc0ffee);
    const rows = 10_000;
    const { items } = await readBytes(buildFile(random, rows, 0, false), { chunkSize: 4096 });
    expect(items.map(lineOf)).toEqual(Array.from({ length: rows }, (_, i) => i + 2));
    const accepted = items.filter((item) => item.kind === 'accepted').length;
    const rejected = items.length - accepted;
    expect(accepted + rejected).toBe(rows);
    expect(rejected).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(4000);
    expect(findUnsafe(items)).toEqual([]);
  });

  it('survives random quotes, line breaks and bytes: no crash, no hang, lines increasing and inside the file', async () => {
    const random = createRandom(42);
    let total = 0;
    for (let file = 0; file < 100; file++) {
      const bytes = buildFile(random, 100, file * 100, true);
      const physicalLines = bytes.filter((byte) => byte === 0x0a).length + 1;
      let items: RosterItem[];
      try {
        items = (await readBytes(bytes, { chunkSize: 1000 + file * 37 })).items;
      } catch (error) {
        // The only acceptable whole-file outcome is a clear FleetError (e.g. a quote swallowing everything).
        expect(error).toBeInstanceOf(FleetError);
        continue;
      }
      const itemLines = items.map(lineOf);
      expect(
        itemLines.every((line, i) => line >= 2 && line <= physicalLines && (i === 0 || line > (itemLines[i - 1] ?? 0))),
      ).toBe(true);
      expect(items.length).toBeGreaterThan(0);
      expect(findUnsafe(items)).toEqual([]);
      total += items.length;
    }
    expect(total).toBeGreaterThan(1000);
  });
});
