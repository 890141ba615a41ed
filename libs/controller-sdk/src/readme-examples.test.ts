/**
 * The TypeScript blocks of the SDK's README (and the repository README, should it get any) are
 * type-checked as written, against the real packages: each block becomes a module in a temporary
 * directory inside this package (so `@tugboat/controller-sdk` resolves to itself and its
 * dependencies through the workspace), compiled with the TypeScript compiler API and the strict
 * settings a team would use. A block that does not compile fails the test with its diagnostics.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const packageDir = resolve(import.meta.dirname, '..');
const repoRoot = resolve(packageDir, '../..');
const READMES = [join(packageDir, 'README.md'), join(repoRoot, 'README.md')];

interface Block {
  file: string;
  line: number;
  code: string;
}

/** Every fenced ```ts / ```typescript block, with the line it starts on. */
export function typeScriptBlocks(markdown: string, file: string): Block[] {
  const blocks: Block[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end += 1;
    blocks.push({ file, line: start + 1, code: lines.slice(start, end).join('\n') });
    i = end;
  }
  return blocks;
}

/** Compiles the blocks, each as its own module; returns one message per diagnostic. */
async function typeCheck(blocks: Block[]): Promise<string[]> {
  const dir = await mkdtemp(join(packageDir, '.readme-check-'));
  try {
    const files: Array<{ path: string; block: Block }> = [];
    for (const [index, block] of blocks.entries()) {
      const path = join(dir, `block-${index}.ts`);
      await writeFile(path, `${block.code}\nexport {};\n`);
      files.push({ path, block });
    }
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2023.d.ts'],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      // Resolve the workspace packages to their sources, so no build is needed first.
      customConditions: ['@tugboat/source'],
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node', 'jest'],
      typeRoots: [join(repoRoot, 'node_modules/@types')],
    };
    const program = ts.createProgram(
      files.map((f) => f.path),
      options,
    );
    const byPath = new Map(files.map((f) => [resolve(f.path), f.block]));
    return ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || byPath.has(resolve(d.file.fileName)) || !d.file.fileName.includes('node_modules'))
      .map((d) => {
        const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
        if (d.file === undefined || d.start === undefined) return text;
        const block = byPath.get(resolve(d.file.fileName));
        const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
        const where = block === undefined ? d.file.fileName : `${block.file.slice(repoRoot.length + 1)}:${block.line + line}`;
        return `${where}:${character + 1}: ${text}`;
      });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('README TypeScript examples', () => {
  it('compile as written against the real packages', async () => {
    const blocks: Block[] = [];
    for (const file of READMES) blocks.push(...typeScriptBlocks(await readFile(file, 'utf8'), file));
    // The SDK README has the controller example and the testing example at least.
    expect(blocks.filter((b) => b.file === READMES[0]).length).toBeGreaterThanOrEqual(2);
    expect(await typeCheck(blocks)).toEqual([]);
  });

  it('would fail on a block that does not compile', async () => {
    const broken: Block = {
      file: join(packageDir, 'README.md'),
      line: 1,
      code: [
        "import { defineController } from '@tugboat/controller-sdk';",
        "defineController<{ size: number }>({ name: 'x-controller', owns: 'X', reconcile: (_ctx, obj) => void obj.spec.colour });",
      ].join('\n'),
    };
    const diagnostics = await typeCheck([broken]);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatch(/README\.md:2:\d+: Property 'colour' does not exist/);
  });
});
