/**
 * Graph: nodes, values with producer/consumer links, inputs/outputs and initializers; subgraphs (If/Loop/Scan
 * bodies) are Graphs held by node attributes, whose nodes may read values of enclosing graphs.
 */
import { OnnxError } from '../onnx/errors.js';
import { Node, removeOne, type Attribute } from './node.js';
import type { Tensor } from './tensor.js';
import { Value, type ValueType } from './value.js';
import type { Model } from './model.js';

export interface AddNodeOptions {
  opType: string;
  /** Values, names of existing values, or null/'' for an omitted optional input. */
  inputs?: readonly (Value | string | null)[];
  /** Values (must have no producer yet) or names; a name that does not exist yet creates the value. */
  outputs?: readonly (Value | string | null)[];
  name?: string;
  domain?: string;
  attributes?: readonly Attribute[];
  /** Insert before this node in the node list (default: append). */
  before?: Node;
}

export class Graph {
  name: string;
  docString: string | undefined = undefined;
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  /** Values defined in this graph, by name. */
  readonly values = new Map<string, Value>();
  /** Initializers in file order. */
  readonly initializers: Value[] = [];
  /** Values with a value_info entry, in file order (saving writes these first, then other typed values). */
  readonly valueInfo: Value[] = [];
  /** The node whose attribute holds this graph (undefined for the main graph). */
  parentNode: Node | undefined = undefined;
  model: Model | undefined = undefined;
  /** @internal */
  extras: { unknown?: Uint8Array[]; sparseInitializer?: unknown[]; quantizationAnnotation?: unknown[] } = {};
  private nameCounter = 0;

  constructor(name = '') {
    this.name = name;
  }

  get parentGraph(): Graph | undefined {
    return this.parentNode?.graph;
  }

  /** The main graph of the model this graph belongs to. */
  get root(): Graph {
    let g: Graph = this;
    while (g.parentGraph) g = g.parentGraph;
    return g;
  }

  /** A value visible here: defined in this graph or an enclosing one. */
  lookup(name: string): Value | undefined {
    for (let g: Graph | undefined = this; g; g = g.parentGraph) {
      const v = g.values.get(name);
      if (v) return v;
    }
    return undefined;
  }

  /** The value named `name` in this graph, creating it (without type) when absent. */
  value(name: string, type?: ValueType): Value {
    let v = this.lookup(name);
    if (!v) {
      v = new Value(this, name, type);
      this.values.set(name, v);
    } else if (type && !v.type) v.type = type;
    return v;
  }

  /** The value named `name` defined in this graph (not an enclosing one), creating it when absent. */
  localValue(name: string, type?: ValueType): Value {
    let v = this.values.get(name);
    if (!v) {
      v = new Value(this, name, type);
      this.values.set(name, v);
    } else if (type && !v.type) v.type = type;
    return v;
  }

  /** A name not used by any value or node in the whole model: `prefix`, `prefix_1`, ... */
  uniqueName(prefix: string): string {
    const root = this.root;
    if (!root.nameTaken(prefix)) return prefix;
    for (;;) {
      const candidate = `${prefix}_${++root.nameCounter}`;
      if (!root.nameTaken(candidate)) return candidate;
    }
  }

  private valueNameTaken(name: string): boolean {
    if (this.values.has(name)) return true;
    for (const n of this.nodes) for (const g of n.subgraphs()) if (g.valueNameTaken(name)) return true;
    return false;
  }

  private nameTaken(name: string): boolean {
    if (this.values.has(name)) return true;
    for (const n of this.nodes) {
      if (n.name === name) return true;
      for (const g of n.subgraphs()) if (g.nameTaken(name)) return true;
    }
    return false;
  }

  // ---- mutation ----

  addInput(name: string, type?: ValueType): Value {
    const v = this.localValue(name, type);
    this.inputs.push(v);
    return v;
  }

  addOutput(value: Value): void {
    this.outputs.push(value);
  }

  /** Adds a constant tensor as an initializer named tensor.name (renamed if taken). */
  addInitializer(tensor: Tensor, name = tensor.name): Value {
    if (this.lookup(name)) name = this.uniqueName(name || 'const');
    tensor.name = name;
    const v = new Value(this, name);
    v.initializer = tensor;
    this.values.set(name, v);
    this.initializers.push(v);
    return v;
  }

  /** Makes an existing value (e.g. a Constant node's output) an initializer. */
  setInitializer(value: Value, tensor: Tensor): void {
    if (value.graph !== this) throw new OnnxError(`Value '${value.name}' does not belong to this graph`, { tensor: value.name });
    tensor.name = value.name;
    value.initializer = tensor;
    if (!this.initializers.includes(value)) this.initializers.push(value);
  }

  removeInitializer(value: Value): void {
    value.initializer = undefined;
    removeOne(this.initializers, value);
    this.dropIfUnused(value);
  }

  addNode(options: AddNodeOptions): Node {
    const node = new Node(this, options.opType, options.name ?? '', options.domain ?? '');
    for (const a of options.attributes ?? []) node.setAttr(a);
    (options.inputs ?? []).forEach((input, i) => {
      node.setInput(i, input === null || input === '' ? null : typeof input === 'string' ? this.value(input) : input);
    });
    (options.outputs ?? []).forEach((output, i) => {
      if (output === null || output === '') {
        node.setOutput(i, null);
        return;
      }
      const v = typeof output === 'string' ? this.localValue(output) : output;
      if (v.producer) throw new OnnxError(`Value '${v.name}' is already produced by node ${v.producer.label}`, { tensor: v.name, node: v.producer.id });
      node.setOutput(i, v);
    });
    if (options.before) this.nodes.splice(this.nodes.indexOf(options.before), 0, node);
    else this.nodes.push(node);
    return node;
  }

  /** Removes a node; its outputs lose their producer and are dropped if nothing uses them. */
  removeNode(node: Node): void {
    const i = this.nodes.indexOf(node);
    if (i < 0) throw new OnnxError(`Node ${node.label} is not in this graph`, { node: node.name });
    this.nodes.splice(i, 1);
    // Nodes inside its subgraphs stop reading outer values.
    const detach = (g: Graph): void => {
      for (const n of g.nodes) {
        n.inputs.forEach((v) => {
          if (v && v.graph !== g) removeOne(v.consumers, n);
        });
        for (const s of n.subgraphs()) detach(s);
      }
    };
    for (const g of node.subgraphs()) detach(g);
    node.inputs.forEach((v, k) => {
      if (v) {
        node.setInput(k, null);
        this.dropIfUnused(v);
      }
    });
    for (const v of node.outputs) {
      if (v && v.producer === node) {
        v.producer = undefined;
        v.graph.dropIfUnused(v);
      }
    }
  }

  /** Points every use of `from` (in this graph, subgraphs, and graph outputs) at `to`. */
  replaceAllUsesWith(from: Value, to: Value): void {
    if (from === to) return;
    for (const consumer of [...from.consumers]) {
      consumer.inputs.forEach((v, i) => {
        if (v === from) consumer.setInput(i, to);
      });
    }
    const outputs = from.graph.outputs;
    outputs.forEach((v, i) => {
      if (v === from) outputs[i] = to;
    });
  }

  /** Renames a value (and its initializer); throws if the name is taken. */
  renameValue(value: Value, name: string): void {
    if (value.name === name) return;
    if (this.root.valueNameTaken(name)) throw new OnnxError(`Cannot rename '${value.name}' to '${name}': the name is taken`, { tensor: name });
    value.graph.values.delete(value.name);
    value.name = name;
    value.graph.values.set(name, value);
    if (value.initializer) value.initializer.name = name;
  }

  /** Forgets a value that nothing produces, uses, declares or outputs. */
  dropIfUnused(value: Value): void {
    const g = value.graph;
    if (value.consumers.length > 0 || value.producer || value.initializer || g.inputs.includes(value) || g.outputs.includes(value)) return;
    if (g.values.get(value.name) === value) g.values.delete(value.name);
    removeOne(g.valueInfo, value);
  }

  /** Removes nodes whose outputs are all unused (repeatedly), and unused initializers. Returns the count removed. */
  removeDeadNodes(): number {
    let removed = 0;
    for (let changed = true; changed; ) {
      changed = false;
      for (let i = this.nodes.length - 1; i >= 0; i--) {
        const n = this.nodes[i];
        const used = n.outputs.some((v) => v && (v.consumers.length > 0 || this.outputs.includes(v)));
        if (!used) {
          this.removeNode(n);
          removed++;
          changed = true;
        }
      }
    }
    for (const v of [...this.initializers]) {
      if (v.consumers.length === 0 && !this.outputs.includes(v) && !this.inputs.includes(v)) this.removeInitializer(v);
    }
    for (const n of this.nodes) for (const g of n.subgraphs()) removed += g.removeDeadNodes();
    return removed;
  }

  // ---- queries ----

  /** Outer-scope values that nodes in this graph's subgraphs read (implicit inputs of `node`). */
  implicitInputs(node: Node): Value[] {
    const out = new Set<Value>();
    const visit = (g: Graph): void => {
      for (const n of g.nodes) {
        for (const v of n.inputs) if (v && !isWithin(v.graph, node)) out.add(v);
        for (const s of n.subgraphs()) visit(s);
      }
      for (const v of g.outputs) if (!isWithin(v.graph, node)) out.add(v);
    };
    for (const g of node.subgraphs()) visit(g);
    return [...out];
  }

  /**
   * Nodes in a topological order (stable: file order where the dependencies allow). Subgraph reads of outer
   * values count as dependencies of the node holding the subgraph. Throws an OnnxError naming a node on a cycle.
   */
  topologicalOrder(): Node[] {
    const index = new Map<Node, number>();
    this.nodes.forEach((n, i) => index.set(n, i));
    const deps = new Map<Node, Node[]>();
    const users = new Map<Node, Node[]>();
    for (const n of this.nodes) {
      const ins = new Set<Node>();
      const all = n.inputs.filter((v): v is Value => v !== null);
      if (n.attributes.size > 0) all.push(...this.implicitInputs(n));
      for (const v of all) {
        const p = v.producer;
        if (p && p.graph === this && p !== n && index.has(p)) ins.add(p);
        else if (p === n) throw new OnnxError(`Graph has a cycle: node ${n.label} reads its own output '${v.name}'`, { node: n.id, tensor: v.name });
      }
      deps.set(n, [...ins]);
      for (const p of ins) {
        let list = users.get(p);
        if (!list) users.set(p, (list = []));
        list.push(n);
      }
    }
    const pending = new Map<Node, number>();
    // A min-heap on file index keeps the order stable.
    const ready: Node[] = [];
    const push = (n: Node): void => {
      ready.push(n);
      let i = ready.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (index.get(ready[p])! <= index.get(ready[i])!) break;
        [ready[p], ready[i]] = [ready[i], ready[p]];
        i = p;
      }
    };
    const pop = (): Node => {
      const top = ready[0];
      const last = ready.pop()!;
      if (ready.length > 0) {
        ready[0] = last;
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < ready.length && index.get(ready[l])! < index.get(ready[m])!) m = l;
          if (r < ready.length && index.get(ready[r])! < index.get(ready[m])!) m = r;
          if (m === i) break;
          [ready[m], ready[i]] = [ready[i], ready[m]];
          i = m;
        }
      }
      return top;
    };
    for (const n of this.nodes) {
      const d = deps.get(n)!.length;
      pending.set(n, d);
      if (d === 0) push(n);
    }
    const order: Node[] = [];
    while (ready.length > 0) {
      const n = pop();
      order.push(n);
      for (const u of users.get(n) ?? []) {
        const left = pending.get(u)! - 1;
        pending.set(u, left);
        if (left === 0) push(u);
      }
    }
    if (order.length !== this.nodes.length) {
      const stuck = this.nodes.find((n) => pending.get(n)! > 0)!;
      const cycle = findCycle(stuck, deps);
      throw new OnnxError(`Graph has a cycle: ${cycle.map((n) => n.label).join(' -> ')}`, { node: stuck.id });
    }
    return order;
  }

  /** Reorders the node list topologically (subgraphs too). */
  sort(): void {
    const order = this.topologicalOrder();
    this.nodes.splice(0, this.nodes.length, ...order);
    for (const n of this.nodes) for (const g of n.subgraphs()) g.sort();
  }

  /** Every node of this graph and its subgraphs, depth first. */
  *allNodes(): Generator<Node> {
    for (const n of this.nodes) {
      yield n;
      for (const g of n.subgraphs()) yield* g.allNodes();
    }
  }

  /** The constant tensor behind a value (initializer not overridable as an input), if any. */
  constantOf(value: Value | null | undefined): Tensor | undefined {
    return value && value.isConstant ? value.initializer : undefined;
  }
}

function isWithin(graph: Graph, node: Node): boolean {
  for (let g: Graph | undefined = graph; g; g = g.parentGraph) if (g.parentNode === node) return true;
  return false;
}

function findCycle(start: Node, deps: Map<Node, Node[]>): Node[] {
  const path: Node[] = [];
  const onPath = new Map<Node, number>();
  const done = new Set<Node>();
  const visit = (n: Node): Node[] | undefined => {
    if (onPath.has(n)) return [...path.slice(onPath.get(n)!), n];
    if (done.has(n)) return undefined;
    onPath.set(n, path.length);
    path.push(n);
    for (const d of deps.get(n) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    onPath.delete(n);
    done.add(n);
    return undefined;
  };
  return (visit(start) ?? [start]).reverse();
}
