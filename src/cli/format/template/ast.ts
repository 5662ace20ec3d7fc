/**
 * The parse tree of a Go template: the nodes the parser builds and the executor
 * walks, and `argString`, which prints a node back the way Go's String methods
 * do (error messages quote it: `at <.Foo>`).
 */

export type Arg =
  | { k: 'field'; pos: number; idents: string[] }
  | { k: 'var'; pos: number; idents: string[] }
  | { k: 'dot'; pos: number }
  | { k: 'nil'; pos: number }
  | { k: 'bool'; pos: number; val: boolean }
  | { k: 'number'; pos: number; text: string; val: number | bigint; isFloat: boolean }
  | { k: 'string'; pos: number; quoted: string; val: string }
  | { k: 'ident'; pos: number; name: string }
  | { k: 'chain'; pos: number; node: Arg; idents: string[] }
  | Pipe;

export interface Pipe {
  k: 'pipe';
  pos: number;
  line: number;
  decl: string[];
  isAssign: boolean;
  cmds: Cmd[];
}
export interface Cmd {
  k: 'cmd';
  pos: number;
  args: Arg[];
}

export interface ControlNode {
  k: 'if' | 'with' | 'range';
  pos: number;
  pipe: Pipe;
  list: Node[];
  elseList: Node[] | null;
}

export type Node =
  | { k: 'text'; text: string }
  | { k: 'action'; pos: number; pipe: Pipe }
  | ControlNode
  | { k: 'break' | 'continue'; pos: number }
  | { k: 'template'; pos: number; name: string; pipe: Pipe | null };

export function argString(a: Arg | Cmd): string {
  switch (a.k) {
    case 'field':
      return a.idents.map((i) => '.' + i).join('');
    case 'var':
      return a.idents.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'bool':
      return String(a.val);
    case 'number':
      return a.text;
    case 'string':
      return a.quoted;
    case 'ident':
      return a.name;
    case 'chain': {
      const base = a.node.k === 'pipe' ? '(' + argString(a.node) + ')' : argString(a.node);
      return base + a.idents.map((i) => '.' + i).join('');
    }
    case 'cmd':
      return a.args.map((x) => (x.k === 'pipe' ? '(' + argString(x) + ')' : argString(x))).join(' ');
    case 'pipe': {
      const decl = a.decl.length ? a.decl.join(', ') + (a.isAssign ? ' = ' : ' := ') : '';
      return decl + a.cmds.map(argString).join(' | ');
    }
  }
}
