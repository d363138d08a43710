package io.llamaffm.spark;

import java.util.List;

/**
 * The JVM flags a Spark 4.2 driver or executor needs on Java 25 to run llama-ffm: the module options of Spark's own
 * launcher ({@code org.apache.spark.launcher.JavaModuleOptions}: {@code --add-opens} of the JDK packages Spark
 * reaches into, the Netty settings, {@code --sun-misc-unsafe-memory-access=allow}), which in Spark 4.2 end with
 * {@code --enable-native-access=ALL-UNNAMED}, the flag llama-ffm's FFM downcalls need (without it Java 25 warns on
 * the first native call, and a later JDK refuses it).
 *
 * <p>{@code spark-submit} passes this list to the driver it starts, and {@code SparkContext} adds it to the executors'
 * {@code extraJavaOptions}: an application submitted that way needs nothing more. A JVM that starts Spark in-process
 * (a test runner, an IDE, {@code java -cp ... Main} with {@code local[*]} or as a client-mode driver) must be started
 * with the list itself: {@link #argLine()}, or {@code java -cp llama-ffm-spark.jar io.llamaffm.spark.SparkJvmFlags}
 * printing it for a script.
 */
public final class SparkJvmFlags {
    /** The oldest Java that Spark 4.2 runs on: 25.0.3. */
    public static final Runtime.Version MINIMUM_JAVA = Runtime.Version.parse("25.0.3");

    /** The flag llama-ffm needs (the last of Spark 4.2's own list). */
    public static final String NATIVE_ACCESS = "--enable-native-access=ALL-UNNAMED";

    private static final List<String> FLAGS = List.of(
            "-XX:+IgnoreUnrecognizedVMOptions",
            "--add-modules=jdk.incubator.vector",
            "--add-opens=java.base/java.lang=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED",
            "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
            "--add-opens=java.base/java.io=ALL-UNNAMED",
            "--add-opens=java.base/java.net=ALL-UNNAMED",
            "--add-opens=java.base/java.nio=ALL-UNNAMED",
            "--add-opens=java.base/java.util=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
            "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
            "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.cs=ALL-UNNAMED",
            "--add-opens=java.base/sun.security.action=ALL-UNNAMED",
            "--add-opens=java.base/sun.util.calendar=ALL-UNNAMED",
            "--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
            "-Dio.netty.tryReflectionSetAccessible=true",
            "-Dio.netty.allocator.type=pooled",
            "-Dio.netty.handler.ssl.defaultEndpointVerificationAlgorithm=NONE",
            "--sun-misc-unsafe-memory-access=allow",
            NATIVE_ACCESS);

    private SparkJvmFlags() {}

    /** {@return every flag, in the order of Spark's launcher, the native-access flag last} */
    public static List<String> flags() {
        return FLAGS;
    }

    /** {@return {@link #flags()} joined by spaces: a surefire {@code argLine} or {@code extraJavaOptions} value} */
    public static String argLine() {
        return String.join(" ", FLAGS);
    }

    /**
     * Prints {@link #argLine()}, for scripts that start a JVM: {@code java $(java -cp llama-ffm-spark.jar
     * io.llamaffm.spark.SparkJvmFlags) -cp ... Main}.
     *
     * @param args ignored
     */
    public static void main(String[] args) {
        System.out.println(argLine());
    }

    /**
     * Checks that this JVM is Java 25.0.3 or later, the oldest Spark 4.2 runs on.
     *
     * @throws IllegalStateException naming the running Java and its home when it is older
     */
    public static void checkJava() {
        checkJava(Runtime.version(), System.getProperty("java.home"));
    }

    static void checkJava(Runtime.Version running, String home) {
        if (running.compareToIgnoreOptional(MINIMUM_JAVA) < 0) {
            throw new IllegalStateException("llama-ffm Spark needs Java " + MINIMUM_JAVA + " or later (Apache Spark 4.2 "
                    + "runs on Java 25 from 25.0.3); this JVM is Java " + running + " at " + home
                    + ": point JAVA_HOME (and spark.executorEnv.JAVA_HOME) at a newer JDK");
        }
    }
}
