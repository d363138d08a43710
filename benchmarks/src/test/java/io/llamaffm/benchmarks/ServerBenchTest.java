package io.llamaffm.benchmarks;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ServerBenchTest {
    private static final String H = ServerBench.HEADING;

    @Test
    void theSectionIsReplacedInPlaceUpToTheNextSecondLevelHeading() {
        String doc = "# R\n\ntext\n\n" + H + "\n\nold\n\n### sub\n\nold too\n\n## Next\n\nkept\n";
        assertEquals("# R\n\ntext\n\n" + H + "\n\nnew\n\n## Next\n\nkept\n", ServerBench.replaceSection(doc, H, H + "\n\nnew\n\n"));
    }

    @Test
    void theSectionAtTheEndOrAtTheStartIsReplacedWhole() {
        assertEquals("# R\n\n" + H + "\n\nnew\n", ServerBench.replaceSection("# R\n\n" + H + "\n\nold\n", H, H + "\n\nnew"));
        assertEquals(H + "\n\nnew\n\n## Next\n", ServerBench.replaceSection(H + "\n\nold\n\n## Next\n", H, H + "\n\nnew\n"));
    }

    @Test
    void withoutTheSectionItIsAppendedAfterABlankLine() {
        assertEquals("# R\n\ntext\n\n" + H + "\n\nnew\n", ServerBench.replaceSection("# R\n\ntext\n", H, H + "\n\nnew\n"));
        assertEquals(H + "\n\nnew\n", ServerBench.replaceSection("", H, H + "\n\nnew\n"));
        // a heading that only starts the same way is another section
        assertEquals("## Server under concurrency, old\n\nx\n\n" + H + "\n\nnew\n",
                ServerBench.replaceSection("## Server under concurrency, old\n\nx\n", H, H + "\n\nnew\n"));
    }
}
