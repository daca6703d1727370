export declare const MINIMUM: readonly [number, number];
export declare function unsupportedNode(version?: string): string | undefined;
export declare function requireSupportedNode(): void;
