/**
 * panbuf's JMH benchmarks ({@code <Subject><Op>Benchmark}) and the {@code panbuf bench}
 * runner that measures them against their baselines, NumPy and the machine's limits.
 */
package dev.panbuf.bench;
