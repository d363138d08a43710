package io.llamaffm.internal.jinja;

import java.util.List;

/** The parsed template: statements (with their line) and expressions. */
sealed interface Node {

    /** A statement; {@code line} is where it starts, for error messages. */
    sealed interface Stmt extends Node {
        int line();
    }

    record Text(int line, String text) implements Stmt {}

    record Output(int line, Expr expr) implements Stmt {}

    record If(int line, List<Branch> branches, List<Stmt> otherwise) implements Stmt {}

    record Branch(Expr test, List<Stmt> body) {}

    record For(int line, Expr target, Expr iterable, Expr filter, List<Stmt> body, List<Stmt> otherwise,
               boolean recursive) implements Stmt {}

    /** {@code set target = value}; target is a name, a tuple of names, or {@code ns.attr}. */
    record Set(int line, Expr target, Expr value) implements Stmt {}

    /** {@code set name | filters %}body{% endset}}: the filters are applied to the rendered body. */
    record SetBlock(int line, String name, List<FilterCall> filters, List<Stmt> body) implements Stmt {}

    record Macro(int line, String name, List<Param> params, List<Stmt> body) implements Stmt {}

    record Param(String name, Expr defaultValue) {}

    /** {@code call(params) macro(args) %}body{% endcall}}: the body becomes the macro's {@code caller}. */
    record CallBlock(int line, Call call, List<Param> params, List<Stmt> body) implements Stmt {}

    record FilterBlock(int line, List<FilterCall> filters, List<Stmt> body) implements Stmt {}

    record With(int line, List<Set> assignments, List<Stmt> body) implements Stmt {}

    record Break(int line) implements Stmt {}

    record Continue(int line) implements Stmt {}

    /** An expression. */
    sealed interface Expr extends Node {}

    record Literal(Object value) implements Expr {}

    record Name(String name) implements Expr {}

    record ListExpr(List<Expr> items) implements Expr {}

    record TupleExpr(List<Expr> items) implements Expr {}

    record DictExpr(List<Expr> keys, List<Expr> values) implements Expr {}

    /** {@code obj.name}: attribute first, then item (Jinja2's getattr). */
    record GetAttr(Expr obj, String name) implements Expr {}

    /** {@code obj[key]}: item first, then attribute (Jinja2's getitem). */
    record GetItem(Expr obj, Expr key) implements Expr {}

    record Slice(Expr obj, Expr start, Expr stop, Expr step) implements Expr {}

    record Call(Expr callee, List<Expr> args, List<String> kwNames, List<Expr> kwValues) implements Expr {}

    record FilterCall(String name, List<Expr> args, List<String> kwNames, List<Expr> kwValues) {}

    record Filter(Expr value, FilterCall filter) implements Expr {}

    record Test(Expr value, String name, List<Expr> args, boolean negated) implements Expr {}

    record Unary(String op, Expr operand) implements Expr {}

    record Binary(String op, Expr left, Expr right) implements Expr {}

    /** Chained comparison: {@code a < b <= c}. */
    record Compare(Expr first, List<String> ops, List<Expr> rest) implements Expr {}

    record And(Expr left, Expr right) implements Expr {}

    record Or(Expr left, Expr right) implements Expr {}

    record Not(Expr operand) implements Expr {}

    /** {@code then if test else otherwise}; otherwise may be null (undefined). */
    record Conditional(Expr test, Expr then, Expr otherwise) implements Expr {}
}
