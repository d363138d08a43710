package io.llamaffm.internal.jinja;

import io.llamaffm.internal.jinja.Lexer.Kind;
import io.llamaffm.internal.jinja.Lexer.Token;
import io.llamaffm.internal.jinja.Node.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Recursive-descent parser following Jinja2's grammar and operator precedence. Nesting is bounded: every block, bracket,
 * prefix operator, {@code else} of a conditional expression and link of an operator, filter or attribute chain counts one
 * level, and a template deeper than the limit is refused before the parser's own recursion could overflow the stack.
 */
final class Parser {
    private static final Set<String> COMPARE_OPS = Set.of("==", "!=", "<", "<=", ">", ">=");
    private static final Set<String> UNSUPPORTED_TAGS = Set.of("include", "extends", "import", "from", "do", "block",
            "autoescape", "trans");

    private final List<Token> tokens;
    private final int maxDepth;
    private int i;
    private int depth;
    private int deepest;

    private Parser(List<Token> tokens, int maxDepth) {
        this.tokens = tokens;
        this.maxDepth = maxDepth;
    }

    /** The parsed template and how deeply it nests. */
    record Parsed(List<Stmt> body, int depth) {}

    static Parsed parse(String source, int maxDepth) {
        Parser p = new Parser(Lexer.tokenize(source, maxDepth), maxDepth);
        return new Parsed(p.subparse(Set.of()), p.deepest);
    }

    static JinjaException tooDeep(int line, int maxDepth) {
        return new JinjaException(JinjaException.Kind.LIMIT, line, "the template nests deeper than " + maxDepth
                + " levels (blocks, brackets, operators and filters)" + Budget.raise("maxNestingDepth", "withMaxNestingDepth", "depth"));
    }

    /** One level deeper; undone by {@link #up}. */
    private void down() {
        if (++depth > maxDepth) {
            throw tooDeep(peek().line(), maxDepth);
        }
        if (depth > deepest) {
            deepest = depth;
        }
    }

    private <T> T up(int levels, T result) {
        depth -= levels;
        return result;
    }

    // ---- statements ---------------------------------------------------------------------------------------

    /** Parses statements until EOF or a block tag whose name is in {@code ends} (left unconsumed, at BLOCK_BEGIN). */
    private List<Stmt> subparse(Set<String> ends) {
        down();
        try {
            return statements(ends);
        } finally {
            depth--;
        }
    }

    private List<Stmt> statements(Set<String> ends) {
        List<Stmt> body = new ArrayList<>();
        while (true) {
            Token t = peek();
            switch (t.kind()) {
                case EOF -> {
                    if (!ends.isEmpty()) {
                        throw error(t, "unexpected end of template: expected " + String.join(" or ", ends.stream().sorted().toList()));
                    }
                    return body;
                }
                case TEXT -> {
                    next();
                    body.add(new Text(t.line(), t.text()));
                }
                case VAR_BEGIN -> {
                    next();
                    Expr e = parseTuple(true);
                    expect(Kind.VAR_END, "}}");
                    body.add(new Output(t.line(), e));
                }
                case BLOCK_BEGIN -> {
                    Token name = tokens.get(i + 1);
                    if (name.kind() == Kind.NAME && ends.contains(name.text())) {
                        return body;
                    }
                    next();
                    body.add(parseStatement(ends));
                }
                default -> throw error(t, "unexpected '" + t.text() + "'");
            }
        }
    }

    private Stmt parseStatement(Set<String> ends) {
        Token t = next();
        if (t.kind() != Kind.NAME) {
            throw error(t, "expected a tag name, got '" + t.text() + "'");
        }
        if (t.text().startsWith("end") || t.text().equals("elif") || t.text().equals("else")) {
            throw error(t, "unexpected '" + t.text() + "': " + (ends.isEmpty() ? "no block is open to end here"
                    : "expected " + String.join(" or ", ends.stream().sorted().toList())));
        }
        int line = t.line();
        return switch (t.text()) {
            case "if" -> parseIf(line);
            case "for" -> parseFor(line);
            case "set" -> parseSet(line);
            case "macro" -> parseMacro(line);
            case "call" -> parseCallBlock(line);
            case "filter" -> parseFilterBlock(line);
            case "with" -> parseWith(line);
            case "generation" -> parseGeneration(line);
            case "break" -> {
                endTag();
                yield new Break(line);
            }
            case "continue" -> {
                endTag();
                yield new Continue(line);
            }
            default -> throw error(t, UNSUPPORTED_TAGS.contains(t.text())
                    ? "the '" + t.text() + "' tag is not supported in chat templates"
                    : "unknown tag '" + t.text() + "'");
        };
    }

    private Stmt parseIf(int line) {
        List<Branch> branches = new ArrayList<>();
        Expr test = parseTuple(true);
        endTag();
        while (true) {
            List<Stmt> body = subparse(Set.of("elif", "else", "endif"));
            branches.add(new Branch(test, body));
            next(); // BLOCK_BEGIN
            String tag = next().text();
            if (tag.equals("elif")) {
                test = parseTuple(true);
                endTag();
                continue;
            }
            endTag();
            List<Stmt> otherwise = List.of();
            if (tag.equals("else")) {
                otherwise = subparse(Set.of("endif"));
                next();
                next();
                endTag();
            }
            return new If(line, branches, otherwise);
        }
    }

    private Stmt parseFor(int line) {
        Expr target = parseAssignTarget(false);
        expectName("in");
        Expr iterable = parseTupleNoCondition();
        Expr filter = null;
        if (acceptName("if")) {
            filter = parseExpression(true);
        }
        boolean recursive = acceptName("recursive");
        endTag();
        List<Stmt> body = subparse(Set.of("endfor", "else"));
        next();
        List<Stmt> otherwise = List.of();
        if (next().text().equals("else")) {
            endTag();
            otherwise = subparse(Set.of("endfor"));
            next();
            next();
        }
        endTag();
        return new For(line, target, iterable, filter, body, otherwise, recursive);
    }

    private Stmt parseSet(int line) {
        Expr target = parseAssignTarget(true);
        if (acceptOp("=")) {
            Expr value = parseTuple(true);
            endTag();
            return new Node.Set(line, target, value);
        }
        if (!(target instanceof Name name)) {
            throw error(peek(), "a block set needs a plain variable name");
        }
        List<FilterCall> filters = new ArrayList<>();
        while (acceptOp("|")) {
            filters.add(parseFilterCall());
        }
        endTag();
        List<Stmt> body = subparse(Set.of("endset"));
        next();
        next();
        endTag();
        return new SetBlock(line, name.name(), filters, body);
    }

    private Stmt parseMacro(int line) {
        String name = expect(Kind.NAME, "a macro name").text();
        List<Param> params = parseParams();
        endTag();
        List<Stmt> body = subparse(Set.of("endmacro"));
        next();
        next();
        endTag();
        return new Macro(line, name, params, body);
    }

    private List<Param> parseParams() {
        List<Param> params = new ArrayList<>();
        expectOp("(");
        while (!acceptOp(")")) {
            if (!params.isEmpty()) {
                expectOp(",");
                if (acceptOp(")")) {
                    break;
                }
            }
            String p = expect(Kind.NAME, "a parameter name").text();
            Expr def = acceptOp("=") ? parseExpression(true) : null;
            params.add(new Param(p, def));
        }
        return params;
    }

    private Stmt parseCallBlock(int line) {
        List<Param> params = peek().isOp("(") ? parseParams() : List.of();
        Expr call = parseExpression(true);
        if (!(call instanceof Call c)) {
            throw error(peek(), "a call block needs a macro call");
        }
        endTag();
        List<Stmt> body = subparse(Set.of("endcall"));
        next();
        next();
        endTag();
        return new CallBlock(line, c, params, body);
    }

    private Stmt parseFilterBlock(int line) {
        List<FilterCall> filters = new ArrayList<>();
        do {
            filters.add(parseFilterCall());
        } while (acceptOp("|"));
        endTag();
        List<Stmt> body = subparse(Set.of("endfilter"));
        next();
        next();
        endTag();
        return new FilterBlock(line, filters, body);
    }

    private Stmt parseWith(int line) {
        List<Node.Set> assignments = new ArrayList<>();
        while (peek().kind() != Kind.BLOCK_END) {
            if (!assignments.isEmpty()) {
                expectOp(",");
            }
            Expr target = parseAssignTarget(false);
            expectOp("=");
            assignments.add(new Node.Set(line, target, parseExpression(true)));
        }
        endTag();
        List<Stmt> body = subparse(Set.of("endwith"));
        next();
        next();
        endTag();
        return new With(line, assignments, body);
    }

    /** Hugging Face's {@code generation} tag marks assistant text for training masks; rendering keeps its body. */
    private Stmt parseGeneration(int line) {
        endTag();
        List<Stmt> body = subparse(Set.of("endgeneration"));
        next();
        next();
        endTag();
        return new If(line, List.of(new Branch(new Literal(true), body)), List.of());
    }

    private Expr parseAssignTarget(boolean allowNamespace) {
        List<Expr> names = new ArrayList<>();
        boolean parens = acceptOp("(");
        do {
            Token t = expect(Kind.NAME, "a variable name");
            if (allowNamespace && acceptOp(".")) {
                return new GetAttr(new Name(t.text()), expect(Kind.NAME, "an attribute name").text());
            }
            names.add(new Name(t.text()));
        } while (acceptOp(","));
        if (parens) {
            expectOp(")");
        }
        return names.size() == 1 && !parens ? names.getFirst() : new TupleExpr(names);
    }

    // ---- expressions --------------------------------------------------------------------------------------

    private Expr parseTuple(boolean withCondition) {
        Expr first = withCondition ? parseExpression(true) : parseOr();
        if (!peek().isOp(",")) {
            return first;
        }
        List<Expr> items = new ArrayList<>(List.of(first));
        while (acceptOp(",")) {
            if (atTupleEnd()) {
                break;
            }
            items.add(withCondition ? parseExpression(true) : parseOr());
        }
        return new TupleExpr(items);
    }

    private Expr parseTupleNoCondition() {
        return parseTuple(false);
    }

    private boolean atTupleEnd() {
        Token t = peek();
        return t.kind() == Kind.VAR_END || t.kind() == Kind.BLOCK_END || t.isOp(")") || t.isName("if")
                || t.isName("recursive") || t.isOp("]");
    }

    private Expr parseExpression(boolean withCondition) {
        return withCondition ? parseConditional() : parseOr();
    }

    private Expr parseConditional() {
        Expr expr = parseOr();
        int links = 0;
        while (acceptName("if")) {
            down();
            links++;
            Expr test = parseOr();
            Expr otherwise = acceptName("else") ? parseConditional() : null;
            expr = new Conditional(test, expr, otherwise);
        }
        return up(links, expr);
    }

    private Expr parseOr() {
        Expr left = parseAnd();
        int links = 0;
        while (acceptName("or")) {
            down();
            links++;
            left = new Or(left, parseAnd());
        }
        return up(links, left);
    }

    private Expr parseAnd() {
        Expr left = parseNot();
        int links = 0;
        while (acceptName("and")) {
            down();
            links++;
            left = new And(left, parseNot());
        }
        return up(links, left);
    }

    private Expr parseNot() {
        if (acceptName("not")) {
            down();
            return up(1, new Not(parseNot()));
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        Expr first = parseMath1();
        List<String> ops = new ArrayList<>();
        List<Expr> rest = new ArrayList<>();
        while (true) {
            Token t = peek();
            if (t.kind() == Kind.OP && COMPARE_OPS.contains(t.text())) {
                next();
                ops.add(t.text());
            } else if (t.isName("in")) {
                next();
                ops.add("in");
            } else if (t.isName("not") && tokens.get(i + 1).isName("in")) {
                next();
                next();
                ops.add("not in");
            } else {
                break;
            }
            rest.add(parseMath1());
        }
        return ops.isEmpty() ? first : new Compare(first, ops, rest);
    }

    private Expr parseMath1() {
        Expr left = parseConcat();
        int links = 0;
        while (peek().isOp("+") || peek().isOp("-")) {
            down();
            links++;
            String op = next().text();
            left = new Binary(op, left, parseConcat());
        }
        return up(links, left);
    }

    private Expr parseConcat() {
        Expr left = parseMath2();
        int links = 0;
        while (acceptOp("~")) {
            down();
            links++;
            left = new Binary("~", left, parseMath2());
        }
        return up(links, left);
    }

    private Expr parseMath2() {
        Expr left = parsePow();
        int links = 0;
        while (peek().isOp("*") || peek().isOp("/") || peek().isOp("//") || peek().isOp("%")) {
            down();
            links++;
            String op = next().text();
            left = new Binary(op, left, parsePow());
        }
        return up(links, left);
    }

    private Expr parsePow() {
        Expr left = parseUnary(true);
        int links = 0;
        while (acceptOp("**")) {
            down();
            links++;
            left = new Binary("**", left, parseUnary(true));
        }
        return up(links, left);
    }

    private Expr parseUnary(boolean withFilter) {
        Expr node;
        if (acceptOp("-")) {
            down();
            node = up(1, new Unary("-", parseUnary(false)));
        } else if (acceptOp("+")) {
            down();
            node = up(1, new Unary("+", parseUnary(false)));
        } else {
            node = parsePrimary();
        }
        int before = depth;
        node = parsePostfix(node);
        node = withFilter ? parseFilterExpr(node) : node;
        return up(depth - before, node);
    }

    private Expr parsePrimary() {
        Token t = next();
        switch (t.kind()) {
            case NAME -> {
                return switch (t.text()) {
                    case "true", "True" -> new Literal(true);
                    case "false", "False" -> new Literal(false);
                    case "none", "None" -> new Literal(null);
                    default -> new Name(t.text());
                };
            }
            case STRING -> {
                StringBuilder sb = new StringBuilder(t.text());
                while (peek().kind() == Kind.STRING) {
                    sb.append(next().text());
                }
                return new Literal(sb.toString());
            }
            case INT -> {
                return new Literal(integer(t));
            }
            case FLOAT -> {
                return new Literal(Double.parseDouble(t.text()));
            }
            case OP -> {
                if (t.isOp("(") || t.isOp("[") || t.isOp("{")) {
                    down();
                    return up(1, parseBracket(t));
                }
            }
            default -> { }
        }
        throw error(t, "unexpected '" + t.text() + "' in an expression");
    }

    /** A parenthesised expression or tuple, a list or a dict literal, after its opening bracket. */
    private Expr parseBracket(Token t) {
        switch (t.text()) {
            case "(" -> {
                if (acceptOp(")")) {
                    return new TupleExpr(List.of());
                }
                Expr first = parseExpression(true);
                if (acceptOp(")")) {
                    return first;
                }
                List<Expr> items = new ArrayList<>(List.of(first));
                while (acceptOp(",")) {
                    if (peek().isOp(")")) {
                        break;
                    }
                    items.add(parseExpression(true));
                }
                expectOp(")");
                return new TupleExpr(items);
            }
            case "[" -> {
                List<Expr> items = new ArrayList<>();
                while (!acceptOp("]")) {
                    if (!items.isEmpty()) {
                        expectOp(",");
                        if (acceptOp("]")) {
                            break;
                        }
                    }
                    items.add(parseExpression(true));
                }
                return new ListExpr(items);
            }
            case "{" -> {
                List<Expr> keys = new ArrayList<>();
                List<Expr> values = new ArrayList<>();
                while (!acceptOp("}")) {
                    if (!keys.isEmpty()) {
                        expectOp(",");
                        if (acceptOp("}")) {
                            break;
                        }
                    }
                    keys.add(parseExpression(true));
                    expectOp(":");
                    values.add(parseExpression(true));
                }
                return new DictExpr(keys, values);
            }
            default -> throw error(t, "unexpected '" + t.text() + "' in an expression");
        }
    }

    /** Attribute, item and call links; each adds a level, which the caller takes off. */
    private Expr parsePostfix(Expr node) {
        while (true) {
            if (peek().isOp(".") || peek().isOp("[") || peek().isOp("(")) {
                down();
            }
            if (acceptOp(".")) {
                Token t = next();
                if (t.kind() == Kind.NAME) {
                    node = new GetAttr(node, t.text());
                } else if (t.kind() == Kind.INT) {
                    node = new GetItem(node, new Literal(integer(t)));
                } else {
                    throw error(t, "expected an attribute name after '.'");
                }
            } else if (acceptOp("[")) {
                node = parseSubscript(node);
            } else if (peek().isOp("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseSubscript(Expr node) {
        Expr start = null;
        if (!peek().isOp(":")) {
            start = parseExpression(true);
            if (acceptOp("]")) {
                return new GetItem(node, start);
            }
            if (peek().isOp(",")) {
                List<Expr> items = new ArrayList<>(List.of(start));
                while (acceptOp(",")) {
                    if (peek().isOp("]")) {
                        break;
                    }
                    items.add(parseExpression(true));
                }
                expectOp("]");
                return new GetItem(node, new TupleExpr(items));
            }
        }
        expectOp(":");
        Expr stop = null;
        Expr step = null;
        if (!peek().isOp("]") && !peek().isOp(":")) {
            stop = parseExpression(true);
        }
        if (acceptOp(":") && !peek().isOp("]")) {
            step = parseExpression(true);
        }
        expectOp("]");
        return new Slice(node, start, stop, step);
    }

    private Call parseCall(Expr callee) {
        expectOp("(");
        List<Expr> args = new ArrayList<>();
        List<String> kwNames = new ArrayList<>();
        List<Expr> kwValues = new ArrayList<>();
        parseArguments(args, kwNames, kwValues);
        return new Call(callee, args, kwNames, kwValues);
    }

    /** Parses call arguments after '(' up to and including ')'. */
    private void parseArguments(List<Expr> args, List<String> kwNames, List<Expr> kwValues) {
        boolean first = true;
        while (!acceptOp(")")) {
            if (!first) {
                expectOp(",");
                if (acceptOp(")")) {
                    return;
                }
            }
            first = false;
            if (peek().isOp("*") || peek().isOp("**")) {
                throw error(peek(), "*args and **kwargs in calls are not supported");
            }
            if (peek().kind() == Kind.NAME && tokens.get(i + 1).isOp("=")) {
                kwNames.add(next().text());
                next();
                kwValues.add(parseExpression(true));
            } else {
                if (!kwNames.isEmpty()) {
                    throw error(peek(), "a positional argument follows a keyword argument");
                }
                args.add(parseExpression(true));
            }
        }
    }

    /** Filter, test and call links; each adds a level, which the caller takes off. */
    private Expr parseFilterExpr(Expr node) {
        while (true) {
            if (peek().isOp("|") || peek().isName("is") || peek().isOp("(")) {
                down();
            }
            if (acceptOp("|")) {
                node = new Filter(node, parseFilterCall());
            } else if (acceptName("is")) {
                node = parseTest(node);
            } else if (peek().isOp("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private FilterCall parseFilterCall() {
        String name = dottedName();
        List<Expr> args = new ArrayList<>();
        List<String> kwNames = new ArrayList<>();
        List<Expr> kwValues = new ArrayList<>();
        if (acceptOp("(")) {
            parseArguments(args, kwNames, kwValues);
        }
        return new FilterCall(name, args, kwNames, kwValues);
    }

    private Expr parseTest(Expr node) {
        boolean negated = acceptName("not");
        String name = dottedName();
        List<Expr> args = new ArrayList<>();
        Token t = peek();
        if (acceptOp("(")) {
            List<String> kwNames = new ArrayList<>();
            parseArguments(args, kwNames, new ArrayList<>());
            if (!kwNames.isEmpty()) {
                throw error(t, "keyword arguments to tests are not supported");
            }
        } else if ((t.kind() == Kind.NAME || t.kind() == Kind.STRING || t.kind() == Kind.INT || t.kind() == Kind.FLOAT
                || t.isOp("(") || t.isOp("[") || t.isOp("{"))
                && !(t.isName("else") || t.isName("or") || t.isName("and"))) {
            if (t.isName("is")) {
                throw error(t, "you cannot chain multiple tests with is");
            }
            int before = depth;
            Expr arg = parsePostfix(parsePrimary());
            args.add(up(depth - before, arg));
        }
        return new Test(node, name, args, negated);
    }

    private String dottedName() {
        StringBuilder name = new StringBuilder(expect(Kind.NAME, "a name").text());
        while (peek().isOp(".") && tokens.get(i + 1).kind() == Kind.NAME) {
            next();
            name.append('.').append(next().text());
        }
        return name.toString();
    }

    // ---- token helpers ------------------------------------------------------------------------------------

    /** An integer literal; Python's are unbounded, the engine's are 64-bit. */
    private Long integer(Token t) {
        try {
            return Long.parseLong(t.text());
        } catch (NumberFormatException e) {
            throw error(t, "the integer literal " + (t.text().length() > 30 ? t.text().substring(0, 30) + "..." : t.text())
                    + " is out of range: template integers are 64-bit");
        }
    }

    private Token peek() {
        return tokens.get(i);
    }

    private Token next() {
        Token t = tokens.get(i);
        if (t.kind() != Kind.EOF) {
            i++;
        }
        return t;
    }

    private boolean acceptOp(String op) {
        if (peek().isOp(op)) {
            i++;
            return true;
        }
        return false;
    }

    private boolean acceptName(String name) {
        if (peek().isName(name)) {
            i++;
            return true;
        }
        return false;
    }

    private void expectOp(String op) {
        if (!acceptOp(op)) {
            throw error(peek(), "expected '" + op + "', got " + describe(peek()));
        }
    }

    private void expectName(String name) {
        if (!acceptName(name)) {
            throw error(peek(), "expected '" + name + "', got " + describe(peek()));
        }
    }

    private Token expect(Kind kind, String what) {
        Token t = peek();
        if (t.kind() != kind) {
            throw error(t, "expected " + what + ", got " + describe(t));
        }
        return next();
    }

    private void endTag() {
        expect(Kind.BLOCK_END, "'%}'");
    }

    private static String describe(Token t) {
        return t.kind() == Kind.EOF ? "the end of the template" : "'" + t.text() + "'";
    }

    private JinjaException error(Token t, String message) {
        return new JinjaException(JinjaException.Kind.SYNTAX, t.line(), message);
    }
}
