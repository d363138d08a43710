package io.llamaffm;

import java.util.EnumSet;
import java.util.Set;

/** llama.cpp's token attributes (llama_token_attr bits). */
public enum TokenAttribute {
    /** The unknown-token placeholder ({@code <unk>}). */
    UNKNOWN(1),
    /** A vocabulary slot the model never produces. */
    UNUSED(1 << 1),
    /** An ordinary text token. */
    NORMAL(1 << 2),
    /** A control token (BOS, EOS, chat markers): not rendered as text by default. */
    CONTROL(1 << 3),
    /** A token added by the model's authors, matched as a whole in text. */
    USER_DEFINED(1 << 4),
    /** A raw byte token ({@code <0x0A>}), part of a UTF-8 sequence. */
    BYTE(1 << 5),
    /** Its text is normalized before matching. */
    NORMALIZED(1 << 6),
    /** Swallows the whitespace to its left when matched. */
    LSTRIP(1 << 7),
    /** Swallows the whitespace to its right when matched. */
    RSTRIP(1 << 8),
    /** Matches only as a whole word. */
    SINGLE_WORD(1 << 9);

    private final int bit;

    TokenAttribute(int bit) {
        this.bit = bit;
    }

    static Set<TokenAttribute> of(int bits) {
        EnumSet<TokenAttribute> set = EnumSet.noneOf(TokenAttribute.class);
        for (TokenAttribute a : values()) {
            if ((bits & a.bit) != 0) {
                set.add(a);
            }
        }
        return set;
    }
}
