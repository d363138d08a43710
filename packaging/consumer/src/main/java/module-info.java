/** A project that uses llama-ffm from its published coordinates, as a module of its own. */
module io.llamaffm.consumer {
    requires io.llamaffm;
}
