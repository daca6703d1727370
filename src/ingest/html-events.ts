/**
 * HTML as a stream of open, text and close events, in time linear in the input whatever it
 * holds. htmlparser2's tokenizer reads the markup (linear, checked on hostile input); the
 * element stack is kept here rather than by htmlparser2's `Parser`, whose stack search
 * (`indexOf` for every end tag, `unshift` for every start tag) is quadratic on deep nesting
 * with unmatched end tags: 600 KB of them took it 2.8 s. Here an end tag with no open element
 * of its name is dropped in O(1) (a count per name), every element is pushed and popped once,
 * and the implied ends HTML has (`<li>` ends the open `<li>`, a block ends an open `<p>`) look
 * at most a few elements down the stack.
 */
import { createRequire } from 'node:module';
import type * as Htmlparser2 from 'htmlparser2';

let loaded: typeof Htmlparser2.Tokenizer | undefined;

/** htmlparser2's tokenizer, loaded the first time a document holds HTML (not at start-up). */
function tokenizerClass(): typeof Htmlparser2.Tokenizer {
  loaded ??= (createRequire(import.meta.url)('htmlparser2') as typeof Htmlparser2).Tokenizer;
  return loaded;
}

export interface HtmlHandler {
  open(name: string, attributes: Readonly<Record<string, string>>): void;
  text(text: string): void;
  /** Every open element gets exactly one close, explicit or implied, at the latest at the end. */
  close(name: string): void;
}

const VOID = new Set([
  'area',
  'base',
  'basefont',
  'br',
  'col',
  'embed',
  'frame',
  'hr',
  'img',
  'input',
  'keygen',
  'link',
  'meta',
  'param',
  'source',
  'track',
  'wbr',
]);

/** Start tags that end an open `<p>`. */
const CLOSES_P = [
  'address',
  'article',
  'aside',
  'blockquote',
  'details',
  'dialog',
  'div',
  'dl',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'header',
  'hr',
  'main',
  'menu',
  'nav',
  'ol',
  'p',
  'pre',
  'section',
  'table',
  'ul',
];
const HEADINGS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6'];

interface ImpliedEnd {
  /** Open elements this start tag ends (with everything above them). */
  readonly ends: ReadonlySet<string>;
  /** Elements the search does not look past (the list, table or row the new element belongs to). */
  readonly barriers: ReadonlySet<string>;
}

const implied = new Map<string, ImpliedEnd>();
const rule = (names: readonly string[], ends: readonly string[], barriers: readonly string[]) => {
  for (const name of names) {
    const before = implied.get(name);
    implied.set(name, {
      ends: new Set([...(before?.ends ?? []), ...ends]),
      barriers: new Set([...(before?.barriers ?? []), ...barriers]),
    });
  }
};
rule(CLOSES_P, ['p'], ['div', 'li', 'td', 'th', 'blockquote', 'section', 'article', 'main', 'body']);
rule(HEADINGS, HEADINGS, ['div', 'li', 'td', 'th', 'section', 'article', 'main', 'body']);
rule(['li'], ['li'], ['ul', 'ol', 'menu']);
rule(['dt', 'dd'], ['dt', 'dd'], ['dl']);
rule(['tr'], ['tr'], ['table', 'thead', 'tbody', 'tfoot']);
rule(['td', 'th'], ['td', 'th'], ['tr', 'table']);
rule(['thead', 'tbody', 'tfoot'], ['thead', 'tbody', 'tfoot'], ['table']);
rule(['option'], ['option'], ['select', 'datalist']);
rule(['optgroup'], ['optgroup', 'option'], ['select']);

/** How far down the stack an implied end looks: keeps every start tag O(1). */
const IMPLIED_SEARCH_DEPTH = 8;
const FOREIGN = new Set(['svg', 'math']);

export interface ParseOptions {
  /** XML rules: names keep their case, `<x/>` closes itself, no void elements and no implied ends. */
  readonly xml?: boolean;
}

/** Runs `handler` over `html` (or XML, with `xml`). */
export function parseHtml(html: string, handler: HtmlHandler, options: ParseOptions = {}): void {
  const xml = options.xml === true;
  const name = (start: number, end: number) => {
    const raw = html.slice(start, end);
    return xml ? raw : raw.toLowerCase();
  };
  const stack: string[] = [];
  const openCount = new Map<string, number>();
  let foreignDepth = 0;
  let tagName = '';
  let attributes: Record<string, string> = {};
  let attributeName = '';
  let attributeValue = '';

  const push = (name: string) => {
    stack.push(name);
    openCount.set(name, (openCount.get(name) ?? 0) + 1);
    if (FOREIGN.has(name)) foreignDepth += 1;
  };
  const pop = () => {
    const name = stack.pop()!;
    openCount.set(name, openCount.get(name)! - 1);
    if (FOREIGN.has(name)) foreignDepth -= 1;
    handler.close(name);
    return name;
  };
  const popThrough = (name: string) => {
    while (stack.length > 0 && pop() !== name) {
      // Everything above it ends with it.
    }
  };
  const applyImpliedEnd = (name: string) => {
    const rule = xml ? undefined : implied.get(name);
    if (!rule || foreignDepth > 0) return;
    const floor = Math.max(0, stack.length - IMPLIED_SEARCH_DEPTH);
    for (let i = stack.length - 1; i >= floor; i--) {
      const open = stack[i]!;
      if (rule.ends.has(open)) {
        while (stack.length > i) pop();
        return;
      }
      if (rule.barriers.has(open)) return;
    }
  };
  const startTag = (selfClosing: boolean) => {
    const name = tagName;
    if (!name) return;
    applyImpliedEnd(name);
    handler.open(name, attributes);
    if ((!xml && VOID.has(name)) || (selfClosing && (xml || foreignDepth > 0))) handler.close(name);
    else push(name);
    tagName = '';
    attributes = {};
  };

  const tokenizer = new (tokenizerClass())(
    { decodeEntities: true, xmlMode: xml },
    {
      onopentagname(start, end) {
        tagName = name(start, end);
        attributes = {};
      },
      onattribname(start, end) {
        attributeName = name(start, end);
        attributeValue = '';
      },
      onattribdata(start, end) {
        attributeValue += html.slice(start, end);
      },
      onattribentity(codepoint) {
        attributeValue += String.fromCodePoint(codepoint);
      },
      onattribend() {
        if (!Object.hasOwn(attributes, attributeName)) attributes[attributeName] = attributeValue;
        attributeValue = '';
      },
      onopentagend() {
        startTag(false);
      },
      onselfclosingtag() {
        startTag(true);
      },
      onclosetag(start, end) {
        const closing = name(start, end);
        if (closing === 'br' && !xml) {
          handler.open('br', {});
          handler.close('br');
        } else if ((openCount.get(closing) ?? 0) > 0) popThrough(closing);
      },
      ontext(start, end) {
        handler.text(html.slice(start, end));
      },
      ontextentity(codepoint) {
        handler.text(String.fromCodePoint(codepoint));
      },
      oncdata(start, end, offset) {
        if (xml || foreignDepth > 0) handler.text(html.slice(start, end - offset));
      },
      oncomment() {},
      ondeclaration() {},
      onprocessinginstruction() {},
      onend() {},
      isInForeignContext: () => foreignDepth > 0,
    },
  );
  tokenizer.write(html);
  tokenizer.end();
  while (stack.length > 0) pop();
}
