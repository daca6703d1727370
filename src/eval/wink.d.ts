/** The two dev-only packages of the eval baseline ship no types: what we call of them. */
declare module 'wink-bm25-text-search' {
  interface Bm25Engine {
    defineConfig(config: { fldWeights: Record<string, number>; bm25Params?: Record<string, number> }): void;
    definePrepTasks(tasks: readonly ((input: unknown) => unknown)[], field?: string): number;
    addDoc(doc: Record<string, string>, id: string | number): number;
    consolidate(fp?: number): boolean;
    search(text: string, limit?: number): [string, number][];
  }
  export default function bm25(): Bm25Engine;
}

declare module 'wink-nlp-utils' {
  type Task = (input: unknown) => unknown;
  const utils: {
    readonly string: { readonly lowerCase: Task; readonly tokenize0: Task };
    readonly tokens: { readonly removeWords: Task; readonly stem: Task };
  };
  export default utils;
}
