package io.llamaffm.internal.jinja;

import io.llamaffm.chat.TemplateLimits;
import org.junit.jupiter.api.Test;

import java.util.Locale;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link Strings#upper} and {@link Strings#lower}: what the JDK's root-locale case mapping gives, and Python's final sigma,
 * in linear time where the JDK is quadratic (ß, İ and Σ repeated).
 */
class CaseMappingTest {
    /** Chars whose case mapping is special: expanding (ß, ligatures, ŉ, ΐ, İ), Greek, combining marks, a surrogate pair. */
    private static final String[] POOL = {"a", "Z", " ", "ß", "ﬃ", "ŉ", "ΐ", "İ", "ı", "ǅ", "Ω", "ω", "\u0301", ".", "'", "1",
            "\uD801\uDC00", "\uD801\uDC28", "é", "É", "ſ", "K"};

    @Test
    void upperAndLowerAreTheJdksOnEveryOtherString() {
        ScopedValue.where(Budget.CURRENT, new Budget(TemplateLimits.defaults().withMaxSteps(Long.MAX_VALUE)))
                .run(CaseMappingTest::compareWithTheJdk);
    }

    private static void compareWithTheJdk() {
        SplittableRandom r = new SplittableRandom(7);
        for (int n = 0; n < 2000; n++) {
            StringBuilder sb = new StringBuilder();
            int length = r.nextInt(300);
            for (int k = 0; k < length; k++) {
                sb.append(POOL[r.nextInt(POOL.length)]);
            }
            String s = sb.toString();
            assertEquals(s.toUpperCase(Locale.ROOT), Strings.upper(s), s);
            assertEquals(s.toLowerCase(Locale.ROOT), Strings.lower(s), s);
        }
    }

    @Test
    void theCapitalSigmaLowersAsInPython() {
        ScopedValue.where(Budget.CURRENT, new Budget(TemplateLimits.defaults())).run(CaseMappingTest::pythonSigma);
    }

    private static void pythonSigma() {
        // the right-hand sides are Python 3's str.lower()
        assertEquals("οδος", Strings.lower("ΟΔΟΣ"));
        assertEquals("οδος οδος", Strings.lower("ΟΔΟΣ ΟΔΟΣ"));
        assertEquals("σ", Strings.lower("Σ"));
        assertEquals("ας.", Strings.lower("ΑΣ."));
        assertEquals("ασ'α", Strings.lower("ΑΣ'Α"));
        assertEquals("ας\u0301", Strings.lower("ΑΣ\u0301"));
        assertEquals("aσb", Strings.lower("aΣb"));
        assertEquals("i\u0307stanbul σας", Strings.lower("İSTANBUL ΣΑΣ"));
        assertEquals("σ\u0301ς", Strings.lower("Σ\u0301Σ"));
        assertEquals("1σ", Strings.lower("1Σ"));
        assertEquals("a\u0301ς", Strings.lower("A\u0301Σ"));
        assertEquals("SS FFI \u02BCN", Strings.upper("ß ﬃ ŉ"));
    }

    @Test
    void longRunsOfExpandingOrContextualCharsMapInLinearTime() {
        Budget budget = new Budget(TemplateLimits.defaults().withMaxSteps(Long.MAX_VALUE));
        ScopedValue.where(Budget.CURRENT, budget).run(() -> {
            for (String unit : new String[] {"ß", "İ", "Σ", "aΣ\u0301"}) {
                String s = unit.repeat(1_000_000);
                long start = System.nanoTime();
                String upper = Strings.upper(s);
                String lower = Strings.lower(s);
                long millis = (System.nanoTime() - start) / 1_000_000;
                // the JDK needs minutes for these (17 s for 40 000 Σ alone)
                assertTrue(millis < 1000, unit + " x 1e6: " + millis + " ms");
                assertEquals(unit.equals("ß") ? 2_000_000 : s.length(), upper.length(), unit);
                assertEquals(unit.equals("İ") ? 2_000_000 : s.length(), lower.length(), unit);
            }
            assertEquals("σσσς", Strings.lower("ΣΣΣΣ"));
        });
    }
}
