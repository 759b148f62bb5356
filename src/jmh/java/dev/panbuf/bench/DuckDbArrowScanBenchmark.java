package dev.panbuf.bench;

import dev.panbuf.BufferArena;
import dev.panbuf.DType;
import dev.panbuf.NdArray;
import dev.panbuf.arrow.Arrow;
import dev.panbuf.arrow.ArrowStreamExport;
import dev.panbuf.arrow.Column;
import org.apache.arrow.c.ArrowArrayStream;
import org.duckdb.DuckDBAppender;
import org.duckdb.DuckDBConnection;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * DuckDB's {@code SELECT sum(x), avg(y)} over a panbuf table of two columns
 * (int64 x, float64 y) handed over as an Arrow C stream of row blocks (no
 * copy: DuckDB scans panbuf's memory), against the same query over a DuckDB
 * table filled beforehand by the JDBC appender (DuckDB's own storage, the
 * fill not timed).
 *
 * <p>Baseline: {@link #sumOverAppenderTable}, same rows.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class DuckDbArrowScanBenchmark {

    private static final String QUERY = "SELECT sum(x), avg(y) FROM ";

    @Param({"10000000"})
    public long rows;

    private BufferArena arena;
    private NdArray x;
    private NdArray y;
    private Connection connection;

    @Setup(Level.Trial)
    public void setup() throws SQLException {
        arena = BufferArena.ofShared();
        x = NdArray.allocate(arena, DType.INT64, rows);
        y = NdArray.allocate(arena, DType.FLOAT64, rows);
        connection = DriverManager.getConnection("jdbc:duckdb:");
        try (Statement st = connection.createStatement()) {
            st.execute("CREATE TABLE appended (x BIGINT, y DOUBLE)");
        }
        try (DuckDBAppender appender = connection.unwrap(DuckDBConnection.class)
                .createAppender(DuckDBConnection.DEFAULT_SCHEMA, "appended")) {
            for (long i = 0; i < rows; i++) {
                long xi = i % 1000 - 300;
                double yi = i * 0.25;
                x.setLong(xi, i);
                y.setDouble(yi, i);
                appender.beginRow();
                appender.append(xi);
                appender.append(yi);
                appender.endRow();
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws SQLException {
        connection.close();
        arena.close();
    }

    /** Export the columns as a stream of 128 Ki-row batches, register it, run the query. */
    @Benchmark
    @Goal(baseline = "sumOverAppenderTable")
    public long sumOverPanbufStream() throws SQLException {
        ArrowStreamExport s = Arrow.exportStream(Arrow.rowBlocks(List.of(Column.of("x", x), Column.of("y", y)),
                1 << 17)).handOff();
        try (ArrowArrayStream stream = ArrowArrayStream.wrap(s.stream().address())) {
            connection.unwrap(DuckDBConnection.class).registerArrowStream("streamed", stream);
            return query("streamed");
        }
    }

    /** The same query over the table the appender filled. */
    @Benchmark
    public long sumOverAppenderTable() throws SQLException {
        return query("appended");
    }

    private long query(String table) throws SQLException {
        try (Statement st = connection.createStatement(); ResultSet rs = st.executeQuery(QUERY + table)) {
            rs.next();
            return rs.getLong(1) + (long) rs.getDouble(2);
        }
    }
}
