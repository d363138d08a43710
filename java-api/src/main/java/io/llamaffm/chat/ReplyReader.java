package io.llamaffm.chat;

/**
 * Reads a reply as it is generated, piece by piece, and tells a {@link Listener} what it says as soon as that is
 * certain: answer text and reasoning text as they come (call markers and reasoning tags never reach the answer),
 * each tool call once with its index, id and name, then its arguments in fragments of compact JSON. {@link #finish()}
 * gives the whole reply's {@link ParsedReply}; it is the same however the reply was split into pieces. Made by
 * {@link ToolFormat#reader}; not thread-safe, one per reply.
 */
public interface ReplyReader {
    /**
     * What a reply says, as it comes. Only the text is required, so a lambda ({@code text -> ...}) listens to the answer
     * alone; calls are ignored unless {@link #callStarted} and {@link #arguments} are overridden.
     */
    @FunctionalInterface
    interface Listener {
        /**
         * More of the answer's text.
         *
         * @param text the text
         */
        void content(String text);

        /**
         * More of the reasoning text. By default ignored.
         *
         * @param text the text
         */
        default void reasoning(String text) {}

        /**
         * A call begins: its name is complete. By default ignored.
         *
         * @param index the call's place in the reply, from 0
         * @param id    its id (the one {@link #finish()} reports)
         * @param name  the tool called
         */
        default void callStarted(int index, String id, String name) {}

        /**
         * More of a call's arguments. By default ignored.
         *
         * @param index    the call's place
         * @param fragment compact JSON text; the fragments of a call make up its arguments object
         */
        default void arguments(int index, String fragment) {}
    }

    /**
     * Reads more of the reply.
     *
     * @param text the next piece of generated text
     */
    void push(CharSequence text);

    /** {@return what the whole reply says; the listener receives whatever was still held back} */
    ParsedReply finish();
}
