package dev.panbuf.packaging;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * panbuf as a user's dependency: a separate Maven project (a module, written
 * as the README's "Use panbuf in your project" says) declares
 * {@code dev.panbuf:panbuf} and slf4j-simple, is built by Maven from a scratch
 * local repository into which this build's jar and pom were installed, and runs
 * with the README's flags on the class path and on the module path.
 *
 * <p>Offline: the scratch build resolves its plugins and slf4j through a
 * mirror that points at the local repository of the Maven running this test
 * ({@code file:} URL), and never at the network; nothing is installed into that
 * repository. About 10 to 20 seconds, most of it the scratch Maven's start.
 */
class ScratchMavenIT {

    private static Path dir;
    private static Path repo;
    private static ItSupport.Result build;

    private static final String MAIN = """
            package app;

            import dev.panbuf.BufferArena;
            import dev.panbuf.DType;
            import dev.panbuf.Export;
            import dev.panbuf.NdArray;

            /** Uses panbuf as an application would: views, an export to C, printing. */
            public final class Main {
                public static void main(String[] args) {
                    try (BufferArena arena = BufferArena.ofConfined()) {
                        NdArray m = NdArray.allocate(arena, DType.FLOAT32, 2, 3);
                        m.setFloat(1.5f, 1, 2);
                        try (Export e = m.transpose().export()) {
                            System.out.println("exported " + e.view().describe().startsWith("NdArray[dtype=<f4, shape=(3, 2)"));
                        }
                        System.out.println(m);
                        System.out.println("panbuf module: " + NdArray.class.getModule().getName());
                        System.out.println("app module: " + Main.class.getModule().getName());
                    }
                }
            }
            """;

    @BeforeAll
    static void buildTheScratchProject() throws IOException, InterruptedException {
        dir = ItSupport.scratch("scratch-maven");
        repo = dir.resolve("repository");
        String version = ItSupport.version();
        // "mvn install" of panbuf, into the scratch repository: the jar and the pom as they ship.
        Path installed = Files.createDirectories(repo.resolve("dev/panbuf/panbuf/" + version));
        Files.copy(ItSupport.libraryJar(), installed.resolve("panbuf-" + version + ".jar"));
        Files.copy(Path.of(ItSupport.property("panbuf.pom")), installed.resolve("panbuf-" + version + ".pom"));
        Path localRepo = Path.of(ItSupport.property("panbuf.maven.localRepository"));
        ItSupport.write(dir.resolve("settings.xml"), """
                <settings>
                  <mirrors>
                    <mirror>
                      <id>build-local-repository</id>
                      <mirrorOf>*</mirrorOf>
                      <url>%s</url>
                    </mirror>
                  </mirrors>
                </settings>
                """.formatted(localRepo.toUri()));
        String pom = Files.readString(Path.of(ItSupport.property("panbuf.pom")));
        Path app = dir.resolve("app");
        ItSupport.write(app.resolve("pom.xml"), """
                <project xmlns="http://maven.apache.org/POM/4.0.0">
                  <modelVersion>4.0.0</modelVersion>
                  <groupId>example</groupId>
                  <artifactId>panbuf-user</artifactId>
                  <version>1</version>
                  <properties>
                    <maven.compiler.release>23</maven.compiler.release>
                    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
                  </properties>
                  <dependencies>
                    <dependency>
                      <groupId>dev.panbuf</groupId>
                      <artifactId>panbuf</artifactId>
                      <version>%s</version>
                    </dependency>
                    <dependency>
                      <groupId>org.slf4j</groupId>
                      <artifactId>slf4j-simple</artifactId>
                      <version>%s</version>
                      <scope>runtime</scope>
                    </dependency>
                  </dependencies>
                  <build>
                    <plugins>
                      %s
                      %s
                      %s
                      %s
                    </plugins>
                  </build>
                </project>
                """.formatted(version, ItSupport.property("panbuf.slf4j.version"), plugin(pom, "maven-resources-plugin"),
                plugin(pom, "maven-compiler-plugin"), plugin(pom, "maven-surefire-plugin"), plugin(pom, "maven-jar-plugin")));
        ItSupport.write(app.resolve("src/main/java/module-info.java"), "module app {\n    requires dev.panbuf;\n}\n");
        ItSupport.write(app.resolve("src/main/java/app/Main.java"), MAIN);
        Path mvn = Path.of(ItSupport.property("panbuf.maven.home"), "bin", "mvn");
        List<String> cmd = List.of(mvn.toString(), "-B", "-q", "-s", dir.resolve("settings.xml").toString(),
                "-Dmaven.repo.local=" + repo, "-Dmaven.test.skip=true", "package");
        build = ItSupport.run(app, Map.of("JAVA_HOME", System.getProperty("java.home"), "MAVEN_OPTS", "-Xmx512m"), cmd, 600);
        build.assertExit(0);
    }

    /** The plugin's coordinates as pom.xml pins them, so the scratch build needs nothing the main build did not fetch. */
    private static String plugin(String pom, String artifactId) {
        Matcher m = Pattern.compile("<artifactId>" + Pattern.quote(artifactId) + "</artifactId>\\s*<version>([^<]+)</version>")
                .matcher(pom);
        assertTrue(m.find(), "pom.xml pins no version of " + artifactId);
        return "<plugin><groupId>org.apache.maven.plugins</groupId><artifactId>" + artifactId + "</artifactId><version>"
                + m.group(1) + "</version></plugin>";
    }

    private static List<Path> runtimeJars() {
        String version = ItSupport.version();
        String slf4j = ItSupport.property("panbuf.slf4j.version");
        return List.of(dir.resolve("app/target/panbuf-user-1.jar"),
                repo.resolve("dev/panbuf/panbuf/" + version + "/panbuf-" + version + ".jar"),
                repo.resolve("org/slf4j/slf4j-api/" + slf4j + "/slf4j-api-" + slf4j + ".jar"),
                repo.resolve("org/slf4j/slf4j-simple/" + slf4j + "/slf4j-simple-" + slf4j + ".jar"));
    }

    private static void assertRanClean(ItSupport.Result r, String panbufModule, String appModule) {
        r.assertExit(0);
        assertEquals("exported true\n"
                + "array([[0. , 0. , 0. ],\n"
                + "       [0. , 0. , 1.5]], dtype=float32)\n"
                + "panbuf module: " + panbufModule + "\n"
                + "app module: " + appModule + "\n", r.out());
        assertFalse(r.err().contains("WARNING"), () -> "the README's flags leave no warning: " + r);
        assertFalse(r.err().contains("SLF4J"), () -> "with slf4j-simple, slf4j finds its provider: " + r);
    }

    @Test
    void theDependencyBringsOnlySlf4jAlong() throws IOException {
        // (junit's bill of materials is read as a pom; no test or tool jar may be fetched.)
        for (String group : List.of("org/junit", "org/openjdk/jmh", "org/openjdk/jcstress", "org/knowm", "com/code-intelligence")) {
            Path folder = repo.resolve(group);
            if (Files.exists(folder)) {
                try (var files = Files.walk(folder)) {
                    List<Path> jars = files.filter(f -> f.toString().endsWith(".jar")).toList();
                    assertEquals(List.of(), jars, "panbuf's pom leaks a test or tool dependency");
                }
            }
        }
        assertTrue(Files.isRegularFile(runtimeJars().get(2)), "slf4j-api came with panbuf");
    }

    @Test
    void itRunsOnTheClassPathWithEnableNativeAccessAllUnnamed() throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ItSupport.java(), "--enable-native-access=ALL-UNNAMED", "-cp",
                ItSupport.join(runtimeJars()), "app.Main"));
        assertRanClean(ItSupport.run(dir, Map.of(), cmd), "null", "null");
    }

    @Test
    void itRunsOnTheModulePathWithEnableNativeAccessDevPanbuf() throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(ItSupport.java(), "--enable-native-access=dev.panbuf", "-p",
                ItSupport.join(runtimeJars()), "-m", "app/app.Main"));
        assertRanClean(ItSupport.run(dir, Map.of(), cmd), "dev.panbuf", "app");
    }
}
