package io.llamaffm.internal.jinja;

import io.llamaffm.internal.jinja.Node.*;
import io.llamaffm.internal.jinja.Py.Callable;
import io.llamaffm.internal.jinja.Py.Namespace;
import io.llamaffm.internal.jinja.Py.Undefined;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a parsed template with Jinja2's scoping: loop bodies and macros get their own scope, if-blocks do not. Every
 * statement, loop iteration, expression and call takes a step of the render's {@link Budget}, and every block,
 * expression and call a level of its nesting.
 */
final class Interpreter {
    /** How a statement list ended: normally, or by {@code break}/{@code continue} inside a loop. */
    private enum Flow { NORMAL, BREAK, CONTINUE }

    /** Scopes walked per step when a name is looked up. */
    private static final int SCOPES_PER_STEP = 8;

    private final Builtins builtins;
    private final Budget budget;
    private int line;

    Interpreter(Builtins builtins, Budget budget) {
        this.builtins = builtins;
        this.budget = budget;
    }

    /** A variable scope; lookups fall back to the parent. */
    static final class Scope {
        private final Scope parent;
        private final Map<String, Object> vars = new HashMap<>();

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object get(String name, Budget budget) {
            int walked = 0;
            for (Scope s = this; s != null; s = s.parent) {
                Object v = s.vars.get(name);
                if (v != null || s.vars.containsKey(name)) {
                    budget.steps(walked / SCOPES_PER_STEP);
                    return v;
                }
                walked++;
            }
            budget.steps(walked / SCOPES_PER_STEP);
            return Py.undefinedName(name);
        }

        void set(String name, Object value) {
            vars.put(name, value);
        }
    }

    String render(List<Stmt> body, Scope globals) {
        StringBuilder out = new StringBuilder();
        try {
            execute(body, new Scope(globals), out);
        } catch (JinjaException e) {
            throw e.atLine(line);
        } catch (StackOverflowError e) { // the last resort: the depth limit is set to stop well before
            throw new JinjaException(JinjaException.Kind.LIMIT, line, "the template nests too deeply for this thread's stack"
                    + Budget.raise("maxNestingDepth", "withMaxNestingDepth", "depth") + " lower, or give the thread a larger stack");
        } catch (RuntimeException e) { // a value of an unexpected type deep in a builtin: report it, never crash
            throw new JinjaException(JinjaException.Kind.RENDER, line, "unsupported operation: " + e);
        }
        return out.toString();
    }

    // ---- statements ---------------------------------------------------------------------------------------

    private Flow execute(List<Stmt> body, Scope scope, StringBuilder out) {
        budget.enter();
        try {
            for (Stmt stmt : body) {
                line = stmt.line();
                budget.step();
                Flow flow = executeOne(stmt, scope, out);
                if (flow != Flow.NORMAL) {
                    return flow;
                }
            }
            return Flow.NORMAL;
        } finally {
            budget.exit();
        }
    }

    private Flow executeOne(Stmt stmt, Scope scope, StringBuilder out) {
        switch (stmt) {
            case Text t -> budget.emit(out, t.text());
            case Output o -> budget.emit(out, Py.str(eval(o.expr(), scope)));
            case If s -> {
                for (Branch b : s.branches()) {
                    if (Py.truthy(eval(b.test(), scope))) {
                        return execute(b.body(), scope, out);
                    }
                }
                return execute(s.otherwise(), scope, out);
            }
            case For f -> executeFor(f, eval(f.iterable(), scope), scope, out, 0);
            case Node.Set s -> assign(s.target(), eval(s.value(), scope), scope);
            case SetBlock s -> {
                StringBuilder captured = new StringBuilder();
                execute(s.body(), new Scope(scope), captured);
                Object value = budget.string(captured.toString());
                for (FilterCall f : s.filters()) {
                    value = applyFilter(f, value, scope);
                }
                scope.set(s.name(), value);
            }
            case Macro m -> scope.set(m.name(), new MacroValue(m.name(), m.params(), m.body(), scope, null));
            case CallBlock c -> {
                MacroValue caller = new MacroValue("caller", c.params(), c.body(), scope, null);
                Object callee = eval(c.call().callee(), scope);
                if (!(callee instanceof MacroValue m)) {
                    throw JinjaException.render("a call block needs a macro, got " + Py.typeName(callee));
                }
                MacroValue withCaller = new MacroValue(m.name, m.params, m.body, m.closure, caller);
                budget.emit(out, Py.str(callWith(withCaller, c.call(), scope)));
            }
            case FilterBlock f -> {
                StringBuilder captured = new StringBuilder();
                execute(f.body(), new Scope(scope), captured);
                Object value = budget.string(captured.toString());
                for (FilterCall fc : f.filters()) {
                    value = applyFilter(fc, value, scope);
                }
                budget.emit(out, Py.str(value));
            }
            case With w -> {
                Scope inner = new Scope(scope);
                for (Node.Set s : w.assignments()) {
                    assign(s.target(), eval(s.value(), scope), inner);
                }
                return execute(w.body(), inner, out);
            }
            case Break b -> {
                return Flow.BREAK;
            }
            case Continue c -> {
                return Flow.CONTINUE;
            }
        }
        return Flow.NORMAL;
    }

    private void executeFor(For f, Object iterable, Scope scope, StringBuilder out, int loopDepth) {
        List<Object> items = Py.iterate(iterable);
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                budget.step();
                Scope probe = new Scope(scope);
                assign(f.target(), item, probe);
                if (Py.truthy(eval(f.filter(), probe))) {
                    kept.add(item);
                }
            }
            items = kept;
        }
        if (items.isEmpty()) {
            execute(f.otherwise(), scope, out);
            return;
        }
        for (int k = 0; k < items.size(); k++) {
            budget.step();
            Scope iteration = new Scope(scope);
            assign(f.target(), items.get(k), iteration);
            iteration.set("loop", new Loop(items, k, loopDepth, f.recursive() ? loopCallable(f, scope, loopDepth) : null));
            Flow flow = execute(f.body(), iteration, out);
            if (flow == Flow.BREAK) {
                break;
            }
        }
    }

    private Callable loopCallable(For f, Scope scope, int loopDepth) {
        return (args, kwargs) -> {
            StringBuilder sub = new StringBuilder();
            executeFor(f, args.isEmpty() ? new Undefined("loop() needs an iterable") : args.getFirst(), scope, sub, loopDepth + 1);
            return budget.string(sub.toString());
        };
    }

    private void assign(Expr target, Object value, Scope scope) {
        switch (target) {
            case Name n -> scope.set(n.name(), value);
            case TupleExpr t -> {
                List<Object> values = Py.iterate(value);
                if (values.size() != t.items().size()) {
                    throw JinjaException.render("cannot unpack " + values.size() + " values into " + t.items().size() + " names");
                }
                for (int k = 0; k < values.size(); k++) {
                    assign(t.items().get(k), values.get(k), scope);
                }
            }
            case GetAttr g -> {
                Object obj = eval(g.obj(), scope);
                if (!(obj instanceof Namespace ns)) {
                    throw JinjaException.render("cannot assign attribute on non-namespace object");
                }
                ns.attributes.put(g.name(), value);
            }
            default -> throw JinjaException.render("cannot assign to this expression");
        }
    }

    // ---- expressions --------------------------------------------------------------------------------------

    Object eval(Expr expr, Scope scope) {
        budget.step();
        budget.enter();
        try {
            return evalOne(expr, scope);
        } finally {
            budget.exit();
        }
    }

    private Object evalOne(Expr expr, Scope scope) {
        return switch (expr) {
            case Literal l -> l.value();
            case Name n -> scope.get(n.name(), budget);
            case ListExpr l -> budget.list(evalAll(l.items(), scope));
            case TupleExpr t -> budget.list(new Py.Tuple(evalAll(t.items(), scope)));
            case DictExpr d -> {
                Map<Object, Object> map = new LinkedHashMap<>();
                for (int k = 0; k < d.keys().size(); k++) {
                    map.put(Py.hashable(eval(d.keys().get(k), scope)), eval(d.values().get(k), scope));
                }
                yield budget.map(map);
            }
            case GetAttr g -> getAttr(plainEval(g.obj(), scope), g.name());
            case GetItem g -> getItem(plainEval(g.obj(), scope), plainEval(g.key(), scope));
            case Slice s -> Py.slice(plainEval(s.obj(), scope), evalOrNull(s.start(), scope), evalOrNull(s.stop(), scope),
                    evalOrNull(s.step(), scope));
            case Call c -> callWith(eval(c.callee(), scope), c, scope);
            case Filter f -> applyFilter(f.filter(), eval(f.value(), scope), scope);
            case Test t -> {
                List<Object> args = evalAll(t.args(), scope);
                args.replaceAll(Py::plain);
                boolean result = builtins.test(t.name(), plainEval(t.value(), scope), args, this);
                yield t.negated() != result;
            }
            case Unary u -> unary(u.op(), eval(u.operand(), scope));
            case Binary b when b.op().equals("~") -> concat(b, scope);
            case Binary b -> Py.arithmetic(b.op(), eval(b.left(), scope), eval(b.right(), scope));
            case Compare c -> compare(c, scope);
            case And a -> {
                Object left = eval(a.left(), scope);
                yield Py.truthy(left) ? eval(a.right(), scope) : left;
            }
            case Or o -> {
                Object left = eval(o.left(), scope);
                yield Py.truthy(left) ? left : eval(o.right(), scope);
            }
            case Not n -> !Py.truthy(eval(n.operand(), scope));
            case Conditional c -> Py.truthy(eval(c.test(), scope)) ? eval(c.then(), scope)
                    : c.otherwise() == null ? new Undefined("the conditional expression had no else") : eval(c.otherwise(), scope);
        };
    }

    private Object plainEval(Expr e, Scope scope) {
        return Py.plain(eval(e, scope));
    }

    private Object evalOrNull(Expr e, Scope scope) {
        if (e == null) {
            return null;
        }
        Object v = eval(e, scope);
        if (v instanceof Undefined u) {
            throw u.error();
        }
        return v;
    }

    private List<Object> evalAll(List<Expr> exprs, Scope scope) {
        List<Object> out = new ArrayList<>(exprs.size());
        for (Expr e : exprs) {
            out.add(eval(e, scope));
        }
        return out;
    }

    private Object unary(String op, Object v) {
        if (v instanceof Undefined u) {
            throw u.error();
        }
        if (!Py.isNumber(v)) {
            throw JinjaException.render("bad operand type for unary " + op + ": '" + Py.typeName(v) + "'");
        }
        if (op.equals("+")) {
            return v instanceof Boolean b ? (long) (b ? 1 : 0) : v;
        }
        return Py.isIntegral(v) ? (Object) (-Py.asLong(v)) : (Object) (-Py.asDouble(v));
    }

    /**
     * A chain {@code a ~ b ~ c ...}: the operands in order, joined once. Left to right pairwise would copy the text
     * so far at every link, which makes a template that builds its prompt in a variable quadratic in time and memory.
     */
    private String concat(Binary chain, Scope scope) {
        List<Expr> operands = new ArrayList<>();
        Expr e = chain;
        while (e instanceof Binary b && b.op().equals("~")) {
            operands.add(b.right());
            e = b.left();
        }
        operands.add(e);
        String[] parts = new String[operands.size()];
        long length = 0;
        for (int k = 0; k < parts.length; k++) {
            parts[k] = Py.str(eval(operands.get(parts.length - 1 - k), scope));
            length += parts[k].length();
        }
        StringBuilder sb = new StringBuilder((int) budget.length(length));
        for (String part : parts) {
            sb.append(part);
        }
        return budget.string(sb.toString());
    }

    private Object compare(Compare c, Scope scope) {
        Object left = plainEval(c.first(), scope);
        for (int k = 0; k < c.ops().size(); k++) {
            Object right = plainEval(c.rest().get(k), scope);
            boolean ok = switch (c.ops().get(k)) {
                case "==" -> Py.eq(left, right);
                case "!=" -> !Py.eq(left, right);
                case "<" -> Py.compare(left, right) < 0;
                case "<=" -> Py.compare(left, right) <= 0;
                case ">" -> Py.compare(left, right) > 0;
                case ">=" -> Py.compare(left, right) >= 0;
                case "in" -> Py.contains(right, left);
                case "not in" -> !Py.contains(right, left);
                default -> throw JinjaException.render("unknown comparison " + c.ops().get(k));
            };
            if (!ok) {
                return false;
            }
            left = right;
        }
        return true;
    }

    private Object applyFilter(FilterCall f, Object value, Scope scope) {
        List<Object> args = evalAll(f.args(), scope);
        args.replaceAll(Py::plain);
        Map<String, Object> kwargs = kwargs(f.kwNames(), f.kwValues(), scope);
        kwargs.replaceAll((k, v) -> Py.plain(v));
        return builtins.filter(f.name(), Py.plain(value), args, kwargs, this);
    }

    private Map<String, Object> kwargs(List<String> names, List<Expr> values, Scope scope) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int k = 0; k < names.size(); k++) {
            out.put(names.get(k), eval(values.get(k), scope));
        }
        return out;
    }

    private Object callWith(Object callee, Call c, Scope scope) {
        List<Object> args = evalAll(c.args(), scope);
        Map<String, Object> kwargs = kwargs(c.kwNames(), c.kwValues(), scope);
        return call(callee, args, kwargs);
    }

    Object call(Object callee, List<Object> args, Map<String, Object> kwargs) {
        if (callee instanceof Undefined u) {
            throw u.error();
        }
        if (!(callee instanceof Callable fn)) {
            throw JinjaException.render("'" + Py.typeName(callee) + "' object is not callable");
        }
        budget.steps(Budget.CALL_STEPS);
        budget.enter();
        if (!(fn instanceof MacroValue)) {
            args = new ArrayList<>(args);
            args.replaceAll(Py::plain);
        }
        try {
            return fn.call(args, kwargs);
        } finally {
            budget.exit();
        }
    }

    // ---- attribute and item access ------------------------------------------------------------------------

    /** {@code obj.name}: the attribute (method) first, then the item. */
    Object getAttr(Object obj, String name) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        Object method = builtins.method(obj, name, this);
        if (method != null) {
            return method;
        }
        return item(obj, name);
    }

    /** {@code obj[key]}: the item first, then the attribute. */
    Object getItem(Object obj, Object key) {
        if (obj instanceof Undefined u) {
            throw u.error();
        }
        if (key instanceof List<?> && (obj instanceof List<?> || obj instanceof String)) {
            throw JinjaException.render("indices must be integers or slices, not tuple");
        }
        Object v = item(obj, key);
        if (v instanceof Undefined && key instanceof String s) {
            Object method = builtins.method(obj, s, this);
            if (method != null) {
                return method;
            }
        }
        return v;
    }

    private Object item(Object obj, Object key) {
        switch (obj) {
            case null -> {
                return Py.noAttribute(null, key);
            }
            case Map<?, ?> m -> {
                Object k = Py.normalize(key);
                if (!Py.isHashable(k)) {
                    return Py.noAttribute(obj, key);
                }
                if (m.containsKey(k)) {
                    return m.get(k);
                }
                return Py.noAttribute(obj, key);
            }
            case Namespace ns -> {
                return ns.attributes.containsKey(key) ? ns.attributes.get(key) : Py.noAttribute(obj, key);
            }
            case Loop l -> {
                return key instanceof String s ? l.attribute(s) : Py.noAttribute(obj, key);
            }
            default -> {
                if ((obj instanceof List<?> || obj instanceof String) && Py.isIntegral(key)) {
                    return Py.index(obj, Py.asLong(key));
                }
                return Py.noAttribute(obj, key);
            }
        }
    }

    // ---- macros and loops ---------------------------------------------------------------------------------

    /** A macro: parameters with defaults, evaluated in a new scope whose parent is where it was defined. */
    final class MacroValue implements Callable {
        final String name;
        final List<Param> params;
        final List<Stmt> body;
        final Scope closure;
        final MacroValue caller;

        MacroValue(String name, List<Param> params, List<Stmt> body, Scope closure, MacroValue caller) {
            this.name = name;
            this.params = params;
            this.body = body;
            this.closure = closure;
            this.caller = caller;
        }

        @Override
        public Object call(List<Object> args, Map<String, Object> kwargs) {
            Scope local = new Scope(closure);
            Map<String, Object> rest = new LinkedHashMap<>(kwargs);
            for (int k = 0; k < params.size(); k++) {
                Param p = params.get(k);
                Object value;
                if (k < args.size()) {
                    value = args.get(k);
                } else if (rest.containsKey(p.name())) {
                    value = rest.remove(p.name());
                } else if (p.defaultValue() != null) {
                    value = eval(p.defaultValue(), local);
                } else {
                    value = new Undefined("parameter '" + p.name() + "' was not provided");
                }
                local.set(p.name(), value);
            }
            local.set("varargs", new Py.Tuple(args.size() > params.size() ? args.subList(params.size(), args.size()) : List.of()));
            local.set("kwargs", new LinkedHashMap<>(rest));
            if (caller != null) {
                local.set("caller", caller);
            }
            int savedLine = line;
            StringBuilder out = new StringBuilder();
            execute(body, local, out);
            line = savedLine;
            return budget.string(out.toString());
        }
    }

    /** The {@code loop} variable of a for loop. */
    static final class Loop implements Callable {
        private final List<Object> items;
        private final int index0;
        private final int depth0;
        private final Callable recurse;

        Loop(List<Object> items, int index0, int depth0, Callable recurse) {
            this.items = items;
            this.index0 = index0;
            this.depth0 = depth0;
            this.recurse = recurse;
        }

        Object attribute(String name) {
            int n = items.size();
            return switch (name) {
                case "index" -> (long) index0 + 1;
                case "index0" -> (long) index0;
                case "revindex" -> (long) (n - index0);
                case "revindex0" -> (long) (n - index0 - 1);
                case "first" -> index0 == 0;
                case "last" -> index0 == n - 1;
                case "length" -> (long) n;
                case "depth" -> (long) depth0 + 1;
                case "depth0" -> (long) depth0;
                case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
                case "nextitem" -> index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item");
                case "cycle" -> (Callable) (args, kwargs) -> {
                    if (args.isEmpty()) {
                        throw JinjaException.render("no items for cycling given");
                    }
                    return args.get(index0 % args.size());
                };
                default -> new Undefined("'loop' has no attribute '" + name + "'");
            };
        }

        @Override
        public Object call(List<Object> args, Map<String, Object> kwargs) {
            if (recurse == null) {
                throw JinjaException.render("loop() can only be called in a recursive for loop");
            }
            return recurse.call(args, kwargs);
        }
    }
}
