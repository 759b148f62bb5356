/*
 * test_format.c -- pb_size_from_format against Python's struct.calcsize, NumPy's
 * PEP 3118 reader and the formats NumPy exports, plus every kind of invalid
 * string with the code it must give.
 *
 * Expected sizes were computed on x86_64 Linux (LP64; aarch64 gives the same)
 * with /usr/bin/python3 3.11 and NumPy 1.24:
 *   STRUCT_CASES   struct.calcsize(f)   ('^' rows: calcsize of the '@' string)
 *   READER_CASES   numpy.core._internal._dtype_from_pep3118(f).itemsize
 *   EXPORT_CASES   memoryview(numpy.zeros(3, dtype)).format and .itemsize
 * Every string is copied into a heap block of exactly strlen + 1 bytes, so
 * AddressSanitizer reports any read past the NUL.
 */
#include "panbuf.h"
#include "pbtest.h"

typedef struct {
    const char *format;
    int64_t size;
} format_case;

static const format_case STRUCT_CASES[] = {
    {"x", 1}, {"@x", 1}, {"=x", 1}, {"<x", 1}, {">x", 1}, {"!x", 1}, {"c", 1}, {"@c", 1},
    {"=c", 1}, {"<c", 1}, {">c", 1}, {"!c", 1}, {"b", 1}, {"@b", 1}, {"=b", 1}, {"<b", 1},
    {">b", 1}, {"!b", 1}, {"B", 1}, {"@B", 1}, {"=B", 1}, {"<B", 1}, {">B", 1}, {"!B", 1},
    {"?", 1}, {"@?", 1}, {"=?", 1}, {"<?", 1}, {">?", 1}, {"!?", 1}, {"h", 2}, {"@h", 2},
    {"=h", 2}, {"<h", 2}, {">h", 2}, {"!h", 2}, {"H", 2}, {"@H", 2}, {"=H", 2}, {"<H", 2},
    {">H", 2}, {"!H", 2}, {"i", 4}, {"@i", 4}, {"=i", 4}, {"<i", 4}, {">i", 4}, {"!i", 4},
    {"I", 4}, {"@I", 4}, {"=I", 4}, {"<I", 4}, {">I", 4}, {"!I", 4}, {"l", 8}, {"@l", 8},
    {"=l", 4}, {"<l", 4}, {">l", 4}, {"!l", 4}, {"L", 8}, {"@L", 8}, {"=L", 4}, {"<L", 4},
    {">L", 4}, {"!L", 4}, {"q", 8}, {"@q", 8}, {"=q", 8}, {"<q", 8}, {">q", 8}, {"!q", 8},
    {"Q", 8}, {"@Q", 8}, {"=Q", 8}, {"<Q", 8}, {">Q", 8}, {"!Q", 8}, {"n", 8}, {"@n", 8}, {"N", 8},
    {"@N", 8}, {"e", 2}, {"@e", 2}, {"=e", 2}, {"<e", 2}, {">e", 2}, {"!e", 2}, {"f", 4},
    {"@f", 4}, {"=f", 4}, {"<f", 4}, {">f", 4}, {"!f", 4}, {"d", 8}, {"@d", 8}, {"=d", 8},
    {"<d", 8}, {">d", 8}, {"!d", 8}, {"s", 1}, {"@s", 1}, {"=s", 1}, {"<s", 1}, {">s", 1},
    {"!s", 1}, {"p", 1}, {"@p", 1}, {"=p", 1}, {"<p", 1}, {">p", 1}, {"!p", 1}, {"P", 8},
    {"@P", 8}, {"@bi", 8}, {"=bi", 5}, {"<bi", 5}, {">bi", 5}, {"!bi", 5}, {"bh", 4}, {"bl", 16},
    {"bq", 16}, {"bd", 16}, {"bP", 16}, {"bn", 16}, {"be", 4}, {"b?", 2}, {"bf", 8}, {"hi", 8},
    {"id", 16}, {"ii", 8}, {"ib", 5}, {"b0i", 4}, {"b0l", 8}, {"0i", 0}, {"0s", 0}, {"0x", 0},
    {"ib0q", 8}, {"4x", 4}, {"3f", 12}, {"10s", 10}, {"3p", 3}, {"2?", 2}, {"03i", 12},
    {"bbbi", 8}, {"@b3i", 16}, {"<b3i", 13}, {"cbi", 8}, {"xi", 8}, {"x3i", 16}, {"3xi", 8},
    {"5s d", 16}, {"\ti\n", 4}, {"< i", 4}, {" 3i ", 12}, {" i", 4}, {"i ", 4}, {"b\fi", 8},
    {"b\vi", 8}, {"b\ri", 8}, {"2c3b4B5h6H7i8I9l10L11q12Q13n14N15e16f17d18s19p20P", 1080},
    {"=2c3b4B5h6H7i8I9l10L11q12Q15e16f17d18s19p", 618},
    {"9223372036854775807x", 9223372036854775807}, {"9223372036854775806xb", 9223372036854775807},
    {"b9223372036854775799x", 9223372036854775800}, {"^x", 1}, {"^c", 1}, {"^b", 1}, {"^B", 1},
    {"^?", 1}, {"^h", 2}, {"^H", 2}, {"^i", 4}, {"^I", 4}, {"^l", 8}, {"^L", 8}, {"^q", 8},
    {"^Q", 8}, {"^n", 8}, {"^N", 8}, {"^e", 2}, {"^f", 4}, {"^d", 8}, {"^s", 1}, {"^p", 1},
    {"^P", 8},
};

/* Records and the mode/alignment rules, as NumPy's reader sizes them. */
static const format_case READER_CASES[] = {
    {"T{i:b:B:a:}", 8},
    {"T{B:a:=i:b:}", 5},
    {"T{=i:b:B:a:}", 5},
    {"T{<i:x:<d:y:}", 12},
    {"T{i:x:d:y:}", 16},
    {"T{b:a:d:b:}", 16},
    {"T{d:b:b:a:}", 16},
    {"T{}", 0},
    {"T{b}", 1},
    {"T{ib}", 8},
    {"T{bi}", 8},
    {"T{T{b:x:d:y:}:s:b:c:}", 24},
    {"T{b:a:T{b:x:d:y:}:s:}", 24},
    {"T{b:a:T{b:x:=d:y:}:s:b:c:}", 11},
    {"2T{d:a:b:b:}", 32},
    {"T{b:a:2T{d:a:b:b:}:r:}", 40},
    {"T{(2,3)f:a:}", 24},
    {"T{b:a:(2)d:c:}", 24},
    {"T{b:a:(2,2)h:c:}", 10},
    {"T{^i:a:b:b:}", 5},
    {"T{b:a:^i:c:}", 5},
    {"T{T{T{T{d}}}}", 8},
    {"T{b:a:T{T{T{d}}}:x:}", 16},
    {"T{b:a:T{=d}:z:}", 9},
    {"T{d:a:=b:b:}", 9},
    {"T{=d:a:@b:b:}", 9},
    {"T{b:a:(2)<i:b:}", 9},
    {"T{b:a b:}", 1},
    {"T{b:}}:}", 1},
    {"T{3s:a:xi:b:}", 8},
    {"T{?:a:xh:b:}", 4},
    {"T{e:a:B:b:}", 4},
    {"T{l:a:(3)B:b:}", 16},
    {"T{f:f0:xxxxd:f1:B:f2:}", 24},
    {"T{0d}", 0},
    {"T{b0d}", 8},
    {"T{b:a:0T{d}:e:}", 8},
};

/* Strings NumPy writes for record dtypes, with NumPy's itemsize. */
static const format_case EXPORT_CASES[] = {
    {"T{B:a:xxxi:b:}", 8},
    {"T{B:a:xxxxxxxd:b:B:c:}", 24},
    {"T{B:a:xxxxxxxT{B:x:xxxxxxxd:y:}:s:B:c:}", 32},
    {"T{B:a:T{B:x:=d:y:}:s:B:c:}", 11},
    {"T{B:a:(2)T{=d:x:B:y:}:s:B:c:}", 20},
    {"T{(2,3)=f:a:5s:b:>h:c:?:d:@e:e:}", 34},
    {"T{l:a:L:b:h:c:b:d:}", 24},
    {"T{i:a:xxxxi:b:}", 12},
    {"T{T{B:x:=d:y:}:s:xxx@i:z:}", 16},
    {"T{(2)f:a:B:b:}", 12},
    {"T{f:x:f:y:f:z:(4)B:rgba:}", 16},
    {"7s", 7},
};

/* panbuf's own rules (whitespace inside records, an order before T{, sub-
   arrays, empty and odd names, '^' mode), sized by hand from the rules in
   panbuf.c. */
static const format_case PANBUF_CASES[] = {
    {"T{ i }", 4},          {"T{ b  d }", 16},      {"T{b::}", 1},
    {"i:x y z:", 4},        {"i:}{T(:", 4},         {"b =i", 5},
    {"b = i", 5},           {"bi=i", 12},           {"=b@i", 8},
    {"^bi", 5},             {"^bl", 9},             {"^bP", 9},
    {"b^i@i", 12},          {"(2)i", 8},            {"(2,3)b", 6},
    {"(2,3)2b", 12},        {"(0)i", 0},            {"b(0)i", 4},
    {"(1,1,1,1)d", 8},      {"(2)=h", 4},           {"(3)T{b:a:d:b:}", 48},
    {"(2)T{d}", 16},        {"(2)10s", 20},         {"bT{i}", 8},
    {"bT{=i}", 5},          {"T{d}b", 9},           {"2T{}", 0},
    {"T{}T{}", 0},          {"T{T{}}", 0},          {"T{b}T{d}", 16},
    {"T{b:a:=T{bd}:y:}", 10},                      {"T{9223372036854775807x}", INT64_MAX},
    {"b\v\f\r\n\ti", 8},
};

typedef struct {
    const char *format;
    int64_t code;
} invalid_case;

static const invalid_case INVALID_CASES[] = {
    /* no item at all (struct.calcsize says 0; an item of 0 bytes is useless) */
    {"", PB_EFORMAT}, {" ", PB_EFORMAT}, {"\t\n\v\f\r ", PB_EFORMAT},
    /* an order character with no item after it, or two in a row */
    {"<", PB_EFORMAT}, {"@", PB_EFORMAT}, {"^", PB_EFORMAT}, {"!", PB_EFORMAT},
    {" = ", PB_EFORMAT}, {"i<", PB_EFORMAT}, {"i @", PB_EFORMAT}, {"<<i", PB_EFORMAT},
    {"<>i", PB_EFORMAT}, {"@ @i", PB_EFORMAT}, {"@<i", PB_EFORMAT}, {"T{i<}", PB_EFORMAT},
    /* a count with no code, or space between them */
    {"3 i", PB_EFORMAT}, {"3", PB_EFORMAT}, {"i3", PB_EFORMAT}, {"12", PB_EFORMAT},
    {" 7 ", PB_EFORMAT}, {"3:", PB_EFORMAT}, {"3}", PB_EFORMAT}, {"T{3}", PB_EFORMAT},
    /* records: unclosed, stray braces, T without { */
    {"T", PB_EFORMAT}, {"T{", PB_EFORMAT}, {"T{i", PB_EFORMAT}, {"T{i:a:", PB_EFORMAT},
    {"T{T{i}", PB_EFORMAT}, {"T {i}", PB_EFORMAT}, {"3T", PB_EFORMAT}, {"3T{", PB_EFORMAT},
    {"}", PB_EFORMAT}, {"i}", PB_EFORMAT}, {"T{i}}", PB_EFORMAT}, {"{i}", PB_EFORMAT},
    {"i{", PB_EFORMAT}, {"(2)T", PB_EFORMAT},
    /* names: unterminated, misplaced, empty name followed by junk */
    {":a:i", PB_EFORMAT}, {":", PB_EFORMAT}, {"::", PB_EFORMAT}, {"i:a", PB_EFORMAT},
    {"i:", PB_EFORMAT}, {"i::a:", PB_EFORMAT}, {"i :a:", PB_EFORMAT}, {"T{b :a:}", PB_EFORMAT},
    {"T{i:abc", PB_EFORMAT}, {"T{b:a::}", PB_EFORMAT}, {"T{i}:a", PB_EFORMAT},
    /* sub-arrays */
    {"(2)", PB_EFORMAT}, {"(2", PB_EFORMAT}, {"()i", PB_EFORMAT}, {"(,)i", PB_EFORMAT},
    {"(2,)i", PB_EFORMAT}, {"(,2)i", PB_EFORMAT}, {"(2;3)i", PB_EFORMAT}, {"( 2)i", PB_EFORMAT},
    {"(2 )i", PB_EFORMAT}, {"(-1)i", PB_EFORMAT}, {"=(2)i", PB_EFORMAT}, {"2(3)i", PB_EFORMAT},
    {"(2)(3)i", PB_EFORMAT},
    /* PEP 3118 codes panbuf does not size, and plain junk */
    {"Zf", PB_EFORMAT}, {"Zd", PB_EFORMAT}, {"g", PB_EFORMAT}, {"O", PB_EFORMAT},
    {"w", PB_EFORMAT}, {"3w", PB_EFORMAT}, {"u", PB_EFORMAT}, {"t", PB_EFORMAT},
    {"&i", PB_EFORMAT}, {"X{}", PB_EFORMAT}, {"i#", PB_EFORMAT}, {"i,", PB_EFORMAT},
    {"i-1", PB_EFORMAT}, {"+3i", PB_EFORMAT}, {"-3i", PB_EFORMAT}, {"x y z", PB_EFORMAT},
    {"b\x01", PB_EFORMAT}, {"\xff", PB_EFORMAT}, {"i\x7f", PB_EFORMAT}, {"F", PB_EFORMAT},
    /* native-only codes in standard mode (struct refuses them too) */
    {"<n", PB_EFORMAT}, {"=N", PB_EFORMAT}, {">P", PB_EFORMAT}, {"!n", PB_EFORMAT},
    {"=P", PB_EFORMAT}, {"T{<P}", PB_EFORMAT}, {"<T{P}", PB_EFORMAT}, {"<iP", PB_EFORMAT},
    /* counts, sub-arrays and sizes past INT64_MAX */
    {"9223372036854775808x", PB_EOVERFLOW}, {"99999999999999999999i", PB_EOVERFLOW},
    {"99999999999999999999", PB_EOVERFLOW}, {"9223372036854775807xb", PB_EOVERFLOW},
    {"b9223372036854775807x", PB_EOVERFLOW}, {"4611686018427387904h", PB_EOVERFLOW},
    {"(4294967296,4294967296)x", PB_EOVERFLOW}, {"(4294967296,4294967296)0x", PB_EOVERFLOW},
    {"(3037000500,3037000500)b", PB_EOVERFLOW}, {"(9223372036854775808)b", PB_EOVERFLOW},
    {"2T{4611686018427387904h}", PB_EOVERFLOW}, {"2T{4611686018427387903h}", PB_EOVERFLOW},
    {"9223372036854775807xi", PB_EOVERFLOW}, {"=9223372036854775807xi", PB_EOVERFLOW},
    {"9223372036854775807x0i", PB_EOVERFLOW}, {"T{d9223372036854775799x}", PB_EOVERFLOW},
    {"3000000000T{3000000000T{3000000000x}}", PB_EOVERFLOW},
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Sizes a copy of format in a block of exactly strlen + 1 bytes. */
static int64_t size_of_copy(const char *format)
{
    size_t byte_len = strlen(format) + 1;
    char *copy = pbt_malloc(byte_len);
    memcpy(copy, format, byte_len);
    int64_t size = pb_size_from_format(copy);
    free(copy);
    return size;
}

static void check_cases(pbt *t, const format_case *cases, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        pbt_context(t, "format \"%s\"", cases[i].format);
        CHECK_EQ(t, size_of_copy(cases[i].format), cases[i].size);
    }
}

static void every_struct_code_sizes_as_struct_calcsize(pbt *t)
{
    check_cases(t, STRUCT_CASES, COUNT_OF(STRUCT_CASES));
}

static void records_size_as_numpy_reads_them(pbt *t)
{
    check_cases(t, READER_CASES, COUNT_OF(READER_CASES));
}

static void numpy_exports_size_to_numpy_itemsize(pbt *t)
{
    check_cases(t, EXPORT_CASES, COUNT_OF(EXPORT_CASES));
}

static void panbuf_extensions_size_by_the_documented_rules(pbt *t)
{
    check_cases(t, PANBUF_CASES, COUNT_OF(PANBUF_CASES));
}

static void invalid_strings_give_their_code(pbt *t)
{
    for (size_t i = 0; i < COUNT_OF(INVALID_CASES); i++) {
        pbt_context(t, "format \"%s\"", INVALID_CASES[i].format);
        CHECK_EQ(t, size_of_copy(INVALID_CASES[i].format), INVALID_CASES[i].code);
    }
}

static void null_format_is_an_invalid_argument(pbt *t)
{
    CHECK_EQ(t, pb_size_from_format(NULL), PB_EINVAL);
}

/* Builds "T{" * depth + "d" + "}" * depth. */
static char *nested_records(int depth)
{
    char *format = pbt_malloc((size_t)depth * 3 + 2);
    char *p = format;
    for (int i = 0; i < depth; i++) {
        *p++ = 'T';
        *p++ = '{';
    }
    *p++ = 'd';
    for (int i = 0; i < depth; i++) {
        *p++ = '}';
    }
    *p = '\0';
    return format;
}

static void records_nest_64_deep_and_no_deeper(pbt *t)
{
    char *format = nested_records(64);
    CHECK_EQ(t, pb_size_from_format(format), 8);
    free(format);
    format = nested_records(65);
    CHECK_EQ(t, pb_size_from_format(format), PB_EFORMAT);
    free(format);
    /* Deep garbage must not recurse or crash. */
    format = nested_records(100000);
    CHECK_EQ(t, pb_size_from_format(format), PB_EFORMAT);
    free(format);
}

static void long_strings_are_summed_without_limits(pbt *t)
{
    size_t items = 200000;
    char *format = pbt_malloc(items * 2 + 2);
    for (size_t i = 0; i < items; i++) {
        format[2 * i] = 'h';
        format[2 * i + 1] = ' ';
    }
    format[items * 2] = 'b';
    format[items * 2 + 1] = '\0';
    CHECK_EQ(t, pb_size_from_format(format), (int64_t)items * 2 + 1);
    free(format);
}

/* Every prefix of a valid string is either valid or invalid, but sizing it
   never reads past its own NUL (ASan checks the exact-size copies). */
static void every_prefix_of_every_case_is_read_safely(pbt *t)
{
    const format_case *tables[] = {STRUCT_CASES, READER_CASES, EXPORT_CASES, PANBUF_CASES};
    size_t counts[] = {COUNT_OF(STRUCT_CASES), COUNT_OF(READER_CASES), COUNT_OF(EXPORT_CASES),
                       COUNT_OF(PANBUF_CASES)};
    for (size_t table = 0; table < 4; table++) {
        for (size_t i = 0; i < counts[table]; i++) {
            const char *format = tables[table][i].format;
            size_t byte_len = strlen(format);
            for (size_t cut = 0; cut < byte_len; cut++) {
                char *prefix = pbt_malloc(cut + 1);
                memcpy(prefix, format, cut);
                prefix[cut] = '\0';
                int64_t size = pb_size_from_format(prefix);
                pbt_context(t, "prefix \"%s\"", prefix);
                CHECK(t, size >= 0 || size == PB_EFORMAT || size == PB_EOVERFLOW);
                free(prefix);
            }
        }
    }
}

int main(void)
{
    pbt t = pbt_begin("format");
    PBT_RUN(&t, every_struct_code_sizes_as_struct_calcsize);
    PBT_RUN(&t, records_size_as_numpy_reads_them);
    PBT_RUN(&t, numpy_exports_size_to_numpy_itemsize);
    PBT_RUN(&t, panbuf_extensions_size_by_the_documented_rules);
    PBT_RUN(&t, invalid_strings_give_their_code);
    PBT_RUN(&t, null_format_is_an_invalid_argument);
    PBT_RUN(&t, records_nest_64_deep_and_no_deeper);
    PBT_RUN(&t, long_strings_are_summed_without_limits);
    PBT_RUN(&t, every_prefix_of_every_case_is_read_safely);
    return pbt_summary(&t);
}
