// Reading directive arguments from SDL nodes, with a problem (file, line, fix) for every wrong shape.
// GraphQL's own SDL validation checks that directives and arguments exist; the values' types are
// checked here, where the message can say what to write instead.
import { Kind, type ConstDirectiveNode, type ConstValueNode, type ASTNode } from 'graphql';
import type { SourceLocation } from './policy.ts';

export interface Problem {
  readonly location: SourceLocation;
  readonly message: string;
  readonly fix: string;
}

export class Problems {
  readonly list: Problem[] = [];
  add(location: SourceLocation, message: string, fix: string): void {
    this.list.push({ location, message, fix });
  }
}

export function locationOf(node: ASTNode, file: string): SourceLocation {
  const loc = node.loc;
  if (loc === undefined) return { file, line: 0, column: 0 };
  return { file, line: loc.startToken.line, column: loc.startToken.column };
}

export function formatProblem(problem: Problem): string {
  const { file, line, column } = problem.location;
  return `${file}:${line}:${column}: ${problem.message} Fix: ${problem.fix}`;
}

export function findDirectives(directives: readonly ConstDirectiveNode[] | undefined, name: string): ConstDirectiveNode[] {
  return (directives ?? []).filter((directive) => directive.name.value === name);
}

function argument(directive: ConstDirectiveNode, name: string): ConstValueNode | undefined {
  return directive.arguments?.find((arg) => arg.name.value === name)?.value;
}

export class ArgReader {
  readonly directive: ConstDirectiveNode;
  readonly file: string;
  readonly problems: Problems;
  constructor(directive: ConstDirectiveNode, file: string, problems: Problems) {
    this.directive = directive;
    this.file = file;
    this.problems = problems;
  }

  private wrong(value: ConstValueNode, name: string, expected: string): undefined {
    this.problems.add(locationOf(value, this.file), `@${this.directive.name.value}(${name}:) must be ${expected}.`, `write ${name}: as ${expected}.`);
    return undefined;
  }

  string(name: string): string | undefined {
    const value = argument(this.directive, name);
    if (value === undefined || value.kind === Kind.NULL) return undefined;
    return value.kind === Kind.STRING ? value.value : this.wrong(value, name, 'a string');
  }

  boolean(name: string): boolean | undefined {
    const value = argument(this.directive, name);
    if (value === undefined || value.kind === Kind.NULL) return undefined;
    return value.kind === Kind.BOOLEAN ? value.value : this.wrong(value, name, 'true or false');
  }

  /** A list of strings; a single string is accepted as a one-item list (GraphQL input coercion). */
  strings(name: string): string[] | undefined {
    return this.listOf(name, 'a list of strings', Kind.STRING);
  }

  enums(name: string): string[] | undefined {
    return this.listOf(name, 'a list of enum values such as [READ, CREATE]', Kind.ENUM);
  }

  objects(name: string): { readonly node: ConstValueNode; readonly fields: ReadonlyMap<string, ConstValueNode> }[] | undefined {
    const value = argument(this.directive, name);
    if (value === undefined || value.kind === Kind.NULL) return undefined;
    const items = value.kind === Kind.LIST ? value.values : [value];
    const result = [];
    for (const item of items) {
      if (item.kind !== Kind.OBJECT) return this.wrong(item, name, 'a list of objects such as [{ field: "supplierId", eq: "$partner" }]');
      result.push({ node: item, fields: new Map(item.fields.map((field) => [field.name.value, field.value])) });
    }
    return result;
  }

  private listOf(name: string, expected: string, kind: typeof Kind.STRING | typeof Kind.ENUM): string[] | undefined {
    const value = argument(this.directive, name);
    if (value === undefined || value.kind === Kind.NULL) return undefined;
    const items = value.kind === Kind.LIST ? value.values : [value];
    const result: string[] = [];
    for (const item of items) {
      if (item.kind !== kind) return this.wrong(item, name, expected);
      result.push(item.value);
    }
    return result;
  }
}
