/*
 * pbtest.h -- the assertion harness of panbuf's C tests. Each test file is
 * one program: main() creates a pbt, runs its test functions with PBT_RUN,
 * and returns pbt_summary(), which prints one summary line and is non-zero
 * when any check failed.
 *
 * Checks print file:line, the test, an optional context (pbt_context: e.g.
 * which format string of a table failed), the expression and both values,
 * and keep going, so one run shows every failure. Each CHECK evaluates to 1
 * when it passed, so a test can stop early: if (!CHECK(t, p != NULL)) return;
 *
 * No global state: the counters live in the pbt that every test receives.
 * pbt_rng is a seeded PRNG (splitmix64) so random tests are reproducible.
 */
#ifndef PBTEST_H
#define PBTEST_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Failures printed in full; later ones are only counted. */
#define PBT_MAX_REPORTED 200

typedef struct {
    const char *suite;
    const char *test;
    char context[256];
    long tests;
    long checks;
    long failures;
} pbt;

static inline pbt pbt_begin(const char *suite)
{
    pbt t;
    memset(&t, 0, sizeof t);
    t.suite = suite;
    t.test = "(none)";
    return t;
}

/* Describes what the following checks are about; printed with failures. */
static inline void pbt_context(pbt *t, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vsnprintf(t->context, sizeof t->context, fmt, args);
    va_end(args);
}

static inline int pbt_record(pbt *t, int passed, const char *file, int line, const char *fmt, ...)
{
    t->checks++;
    if (passed) {
        return 1;
    }
    t->failures++;
    if (t->failures <= PBT_MAX_REPORTED) {
        va_list args;
        fprintf(stderr, "%s:%d: FAIL in %s", file, line, t->test);
        if (t->context[0] != '\0') {
            fprintf(stderr, " [%s]", t->context);
        }
        fprintf(stderr, ": ");
        va_start(args, fmt);
        vfprintf(stderr, fmt, args);
        va_end(args);
        fputc('\n', stderr);
    }
    return 0;
}

static inline int pbt_compare_i64(pbt *t, int64_t actual, const char *op, int64_t expected,
                                  const char *actual_text, const char *expected_text,
                                  const char *file, int line)
{
    int passed;
    if (strcmp(op, "==") == 0) {
        passed = actual == expected;
    } else if (strcmp(op, "!=") == 0) {
        passed = actual != expected;
    } else if (strcmp(op, "<") == 0) {
        passed = actual < expected;
    } else if (strcmp(op, "<=") == 0) {
        passed = actual <= expected;
    } else if (strcmp(op, ">") == 0) {
        passed = actual > expected;
    } else if (strcmp(op, ">=") == 0) {
        passed = actual >= expected;
    } else {
        passed = 0;
    }
    return pbt_record(t, passed, file, line, "%s %s %s: actual %" PRId64 ", expected %s %" PRId64,
                      actual_text, op, expected_text, actual, op, expected);
}

static inline int pbt_compare_mem(pbt *t, const void *actual, const void *expected, size_t byte_len,
                                  const char *actual_text, const char *expected_text,
                                  const char *file, int line)
{
    const unsigned char *a = actual;
    const unsigned char *e = expected;
    size_t i = 0;
    while (i < byte_len && a[i] == e[i]) {
        i++;
    }
    if (i == byte_len) {
        return pbt_record(t, 1, file, line, "");
    }
    return pbt_record(t, 0, file, line,
                      "%s and %s differ first at byte %zu of %zu: 0x%02x != 0x%02x",
                      actual_text, expected_text, i, byte_len, a[i], e[i]);
}

static inline int pbt_compare_str(pbt *t, const char *actual, const char *expected,
                                  const char *actual_text, const char *expected_text,
                                  const char *file, int line)
{
    int passed = actual != NULL && expected != NULL ? strcmp(actual, expected) == 0
                                                    : actual == expected;
    return pbt_record(t, passed, file, line, "%s == %s: actual \"%s\", expected \"%s\"",
                      actual_text, expected_text, actual ? actual : "(null)",
                      expected ? expected : "(null)");
}

#define CHECK(t, cond) pbt_record((t), (cond) != 0, __FILE__, __LINE__, "%s", #cond)
/* CHECK_I64(t, actual, ==, expected); op is one of == != < <= > >=. */
#define CHECK_I64(t, actual, op, expected)                                                  \
    pbt_compare_i64((t), (int64_t)(actual), #op, (int64_t)(expected), #actual, #expected, \
                    __FILE__, __LINE__)
#define CHECK_EQ(t, actual, expected) CHECK_I64(t, actual, ==, expected)
#define CHECK_PTR_EQ(t, actual, expected)                                                   \
    pbt_record((t), (const void *)(actual) == (const void *)(expected), __FILE__, __LINE__, \
               "%s == %s: actual %p, expected %p", #actual, #expected,                      \
               (const void *)(actual), (const void *)(expected))
#define CHECK_MEM_EQ(t, actual, expected, byte_len) \
    pbt_compare_mem((t), (actual), (expected), (byte_len), #actual, #expected, __FILE__, __LINE__)
#define CHECK_STR_EQ(t, actual, expected) \
    pbt_compare_str((t), (actual), (expected), #actual, #expected, __FILE__, __LINE__)

/* Runs one test function void fn(pbt *t). */
#define PBT_RUN(t, fn)            \
    do {                          \
        (t)->test = #fn;          \
        (t)->context[0] = '\0';   \
        (t)->tests++;             \
        fn(t);                    \
    } while (0)

/* Prints the summary line; the exit status for main(). */
static inline int pbt_summary(const pbt *t)
{
    printf("pbtest %s: %ld tests, %ld checks, %ld failures%s\n", t->suite, t->tests, t->checks,
           t->failures, t->failures == 0 ? " -- OK" : " -- FAILED");
    return t->failures == 0 ? 0 : 1;
}

/* splitmix64: small, seeded, good enough for test data. */
typedef struct {
    uint64_t state;
} pbt_rng;

static inline uint64_t pbt_next(pbt_rng *rng)
{
    uint64_t z = (rng->state += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi] (hi - lo small). */
static inline int64_t pbt_range(pbt_rng *rng, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(pbt_next(rng) % (uint64_t)(hi - lo + 1));
}

/* malloc that fails the test run loudly instead of returning NULL. */
static inline void *pbt_malloc(size_t byte_len)
{
    void *p = malloc(byte_len == 0 ? 1 : byte_len);
    if (p == NULL) {
        fprintf(stderr, "pbtest: out of memory (%zu bytes)\n", byte_len);
        exit(2);
    }
    return p;
}

#endif /* PBTEST_H */
