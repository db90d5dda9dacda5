import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { buildApplyCommand } from '../../src/transport/ssh/apply-command.js';
import { templateWithMode, withScriptCheck } from '../../src/transport/ssh/mode-command.js';

/**
 * agent/windows/apply-profile.ps1 cannot run here (no Windows in CI), so its syntax is checked with a real PowerShell
 * grammar (tree-sitter-powershell, loaded from its npm package's wasm: no network at test time). Windows PowerShell
 * 5.1 is the target: PowerShell 7-only syntax would be a parse error on every workstation.
 */
const SCRIPT = readFileSync(new URL('../../agent/windows/apply-profile.ps1', import.meta.url), 'utf8');
const require = createRequire(import.meta.url);
let parser: Parser;

beforeAll(async () => {
  await Parser.init();
  const language = await Language.load(require.resolve('tree-sitter-powershell/tree-sitter-powershell.wasm'));
  parser = new Parser();
  parser.setLanguage(language);
});

function walk(node: Node, visit: (n: Node) => void): void {
  visit(node);
  for (const child of node.children) if (child) walk(child, visit);
}

/** Syntax errors and PowerShell 7-only constructs, each with its line. */
function problemsOf(source: string): string[] {
  const tree = parser.parse(source);
  if (!tree) throw new Error('the parser returned no tree');
  const problems: string[] = [];
  walk(tree.rootNode, (n) => {
    const line = n.startPosition.row + 1;
    const text = n.text.toLowerCase();
    if (n.isError || n.isMissing)
      problems.push(`line ${line}: syntax error near ${JSON.stringify(n.text.slice(0, 40))}`);
    if (n.type === 'pipeline_chain_tail') problems.push(`line ${line}: && / || pipeline chain (PowerShell 7)`);
    if (n.type === 'foreach_parameter' && text === '-parallel') problems.push(`line ${line}: foreach -Parallel`);
    if (n.type === 'command_parameter' && text === '-parallel') problems.push(`line ${line}: -Parallel (PowerShell 7)`);
  });
  // The grammar reads `??`, `?.`, `?[` and the ternary as errors; say what they are when the source has them.
  source.split('\n').forEach((text, i) => {
    const code = text.replace(/'[^']*'|"[^"]*"|#.*$/g, '');
    if (/\?\?|\?\.|\?\[/.test(code)) problems.push(`line ${i + 1}: null-coalescing/conditional access (PowerShell 7)`);
    if (/^\s*clean\s*\{/i.test(code)) problems.push(`line ${i + 1}: clean {} block (PowerShell 7.3)`);
  });
  return problems;
}

describe('agent/windows/apply-profile.ps1 under a PowerShell grammar', () => {
  it('parses without a syntax error and uses no PowerShell 7-only syntax', () => {
    expect(problemsOf(SCRIPT)).toEqual([]);
  });

  it('declares #Requires -Version 5.1 on its first line', () => {
    expect(SCRIPT.split(/\r?\n/)[0]).toBe('#Requires -Version 5.1');
  });

  it('would catch each PowerShell 7-only construct and a plain syntax error (the check can fail)', () => {
    const samples = {
      'null-coalescing': '$a = $b ?? 1',
      ternary: '$x = $a ? 1 : 2',
      'pipeline chain': 'Get-Item a && Get-Item b',
      'conditional access': '$n = $a?.b',
      'ForEach-Object -Parallel': '1..3 | ForEach-Object -Parallel { $_ }',
      'foreach -Parallel': 'foreach -Parallel ($a in $b) { $a }',
      'clean block': 'function f {\n  clean { }\n}',
      'unclosed block': 'if ($a) { $b',
    };
    for (const [name, source] of Object.entries(samples)) {
      expect(problemsOf(source), name).not.toEqual([]);
    }
    expect(problemsOf("Write-Host 'ok'; if ($a) { $b } else { $c }")).toEqual([]);
  });

  it('never classifies an error by English text and names groups by SID only', () => {
    expect(SCRIPT).not.toMatch(/-match\s+'(denied|access|locked|error)'/i);
    expect(SCRIPT).not.toMatch(/\b(Administrators|SYSTEM|Users):/);
    for (const sid of ['S-1-5-32-544', 'S-1-5-18']) expect(SCRIPT).toContain(sid);
  });

  it('the command the agent sends (script check, budget, mode switches) is valid PowerShell 5.1 too', () => {
    const values = {
      script: 'C:\\ProgramData\\fleet-rollout\\staging\\.fleet\\apply-profile.ps1',
      prf: "C:\\ProgramData\\fleet-rollout\\staging\\spring\\o'brien.prf",
      user: "CORP\\o'brien",
      office: '11.0',
      campaign: 'spring',
      checksum: 'b'.repeat(64),
      rollback: false,
    };
    const modes = [
      { kind: 'stage-while-running' },
      { kind: 'probe' },
      { kind: 'verify', expectProxy: 'mail.contoso.com', expectFlags: '0x0023' },
    ] as const;
    for (const mode of modes) {
      const template = withScriptCheck(
        'windows',
        templateWithMode('windows', templateWithMode('windows', undefined, mode), { kind: 'budget', seconds: 90 }),
        'c'.repeat(64),
      );
      const command = buildApplyCommand('windows', values, template);
      const text = Buffer.from(command.split(' ').at(-1) ?? '', 'base64').toString('utf16le');
      expect(problemsOf(text), mode.kind).toEqual([]);
    }
  });
});
