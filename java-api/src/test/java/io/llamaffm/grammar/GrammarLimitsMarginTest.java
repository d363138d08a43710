package io.llamaffm.grammar;

import io.llamaffm.Configuration;
import io.llamaffm.internal.GbnfLimits;
import io.llamaffm.internal.GrammarLimits;
import io.llamaffm.internal.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Prints the maxima (temporary). */
class GrammarLimitsMarginTest {
    @Test
    void measure() {
        GrammarLimits limits = GrammarLimits.configured();
        long schemaChars = 0, depth = 0, convSteps = 0, chars = 0, rules = 0, elements = 0, steps = 0, chain = 0, nesting = 0;
        String[] arg = new String[9];
        for (SchemaCases.Case c : SchemaCases.all()) {
            if (!c.succeeds()) continue;
            Rules r = new Rules(limits);
            SchemaConverter conv = new SchemaConverter(JsonParser.parse(c.schema()), c.options(), r, "");
            String g = conv.convert().grammar();
            GbnfLimits.Measure m = GbnfLimits.measure(g, "root", limits);
            if (c.schema().length() > schemaChars) { schemaChars = c.schema().length(); arg[0] = c.name(); }
            if (conv.maxDepth() > depth) { depth = conv.maxDepth(); arg[1] = c.name(); }
            if (r.steps() > convSteps) { convSteps = r.steps(); arg[2] = c.name(); }
            if (m.chars() > chars) { chars = m.chars(); arg[3] = c.name(); }
            if (m.rules() > rules) { rules = m.rules(); arg[4] = c.name(); }
            if (m.elements() > elements) { elements = m.elements(); arg[5] = c.name(); }
            if (m.steps() > steps) { steps = m.steps(); arg[6] = c.name(); }
            if (m.chain() > chain) { chain = m.chain(); arg[7] = c.name(); }
            if (m.nesting() > nesting) { nesting = m.nesting(); arg[8] = c.name(); }
        }
        System.out.printf("schemaChars %d (%s)%ndepth %d (%s)%nconvSteps %d (%s)%nchars %d (%s)%nrules %d (%s)%nelements %d (%s)%nsteps %d (%s)%nchain %d (%s)%nnesting %d (%s)%n",
            schemaChars, arg[0], depth, arg[1], convSteps, arg[2], chars, arg[3], rules, arg[4], elements, arg[5], steps, arg[6], chain, arg[7], nesting, arg[8]);
    }
}
