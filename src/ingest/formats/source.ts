/**
 * What a knowledge source fetched (a repository's file, a Notion page's blocks, a Confluence
 * page's storage format, an issue's Markdown) as a document for the chunker. Runs in the parse
 * pool's parser processes (parse-jobs.ts), with the pool's time and memory budgets, like web pages and
 * files: the text a document may expand to is bounded by `maxChars`.
 */
import { type MarkupFormat, TooLargeError } from '../files.js';
import { loadBytes } from '../loaders.js';
import { confluenceStorageToMarkdown } from './confluence.js';
import { type NotionBlock, notionBlocksToMarkdown } from './notion.js';

/**
 * `markdown`, `mdx`, `text`, `rst`, `asciidoc`: a file's bytes (front matter and headings respected);
 * `notion`: a page's blocks as JSON; `confluence`: storage format; `issue`: Markdown as written.
 */
export type SourceFormat = MarkupFormat | 'notion' | 'confluence' | 'issue';

export interface SourceInput {
  readonly format: SourceFormat;
  /** A file's bytes (markdown, mdx, text, rst, asciidoc). */
  readonly data?: Uint8Array;
  /** The text of the other formats. */
  readonly text?: string;
  /** The item's title as its service names it (Notion, Confluence, issues). */
  readonly title?: string;
  readonly maxChars: number;
}

/** The name a file of each markup format is read under (its extension decides how). */
const FILE_NAMES: Record<MarkupFormat, string> = {
  markdown: 'file.md',
  text: 'file.txt',
  mdx: 'file.mdx',
  rst: 'file.rst',
  asciidoc: 'file.adoc',
};

function bytes(input: SourceInput): Buffer {
  const data = input.data ?? new Uint8Array();
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export async function sourceDocument(input: SourceInput): Promise<{ title?: string; markdown: string }> {
  const titled = (markdown: string) => (input.title ? `# ${input.title}\n\n${markdown}` : markdown);
  let result: { title?: string; markdown: string };
  switch (input.format) {
    case 'markdown':
    case 'mdx':
    case 'text':
    case 'rst':
    case 'asciidoc': {
      // Read as a file of its kind is (loaders.ts): front matter and the first heading give the
      // title; a file's own `url:` is not its citation.
      const document = await loadBytes(FILE_NAMES[input.format], bytes(input));
      result =
        document.kind === 'text'
          ? { ...(document.title ? { title: document.title } : {}), markdown: document.markdown }
          : { markdown: '' };
      break;
    }
    case 'notion':
      result = { markdown: titled(notionBlocksToMarkdown(JSON.parse(input.text ?? '[]') as NotionBlock[])) };
      break;
    case 'confluence':
      result = { markdown: titled(confluenceStorageToMarkdown(input.text ?? '')) };
      break;
    case 'issue':
      result = { markdown: input.text ?? '' };
      break;
  }
  if (result.markdown.length > input.maxChars) {
    throw new TooLargeError(`more than ${input.maxChars.toLocaleString('en-US')} characters of text`);
  }
  return { ...result, ...(input.title && !result.title ? { title: input.title } : {}) };
}
