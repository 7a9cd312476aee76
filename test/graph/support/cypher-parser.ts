/**
 * Access to Neo4j's own Cypher parser and linter (@neo4j-cypher/language-support, the one behind Neo4j's editors).
 * Its ESM build does not load under Node (extensionless imports), so the CommonJS build is required instead.
 */
import { createRequire } from 'node:module';

export interface CypherDiagnostic {
  readonly message: string;
  readonly severity?: number;
  readonly offsets: { start: number; end: number };
}

interface ParsedStatement {
  readonly syntaxErrors: CypherDiagnostic[];
  readonly collectedParameters: { name: string }[];
  readonly collectedFunctions: { name: string }[];
  readonly collectedVariables: string[];
}

interface LanguageSupport {
  lintCypherQuery(query: string, schema: { parameters?: Record<string, unknown> }): CypherDiagnostic[];
  parserWrapper: { parse(query: string): { statementsParsing: ParsedStatement[] } };
}

const support = createRequire(import.meta.url)('@neo4j-cypher/language-support') as LanguageSupport;

/** Syntax and semantic diagnostics (undefined variables, wrong clause order...), given the parameters it may use. */
export function lintCypher(query: string, parameterNames: readonly string[]): CypherDiagnostic[] {
  const parameters = Object.fromEntries(parameterNames.map((name) => [name, null]));
  return support.lintCypherQuery(query, { parameters });
}

/** The statements in `query`, with the parameters and functions each one names. */
export function parseCypher(query: string): { syntaxErrors: CypherDiagnostic[]; parameters: string[]; functions: string[] }[] {
  return support.parserWrapper.parse(query).statementsParsing.map((s) => ({
    syntaxErrors: s.syntaxErrors,
    parameters: [...new Set(s.collectedParameters.map((p) => p.name))].sort(),
    functions: [...new Set(s.collectedFunctions.map((f) => f.name))].sort(),
  }));
}
