/*
 * fuzz_format.c -- libFuzzer target for pb_size_from_format. The input is
 * copied into a block of exactly size + 1 bytes and NUL-terminated, so
 * AddressSanitizer catches any read past the NUL. Checks:
 *  - the result is a size (>= 0), PB_EFORMAT or PB_EOVERFLOW;
 *  - for strings in Python's struct subset (one optional order character at
 *    the start, no records, names or sub-arrays), it equals a second,
 *    independently written struct.calcsize;
 *  - a valid string keeps its size when whitespace is appended.
 */
#include "panbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;

_Static_assert(sizeof(long) == 8 && sizeof(void *) == 8, "the model below assumes LP64");

#define NO_OPINION (-1000)

static int model_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Size and alignment of a code in native (@) or standard mode; 0 if none. */
static int model_code(char code, int native, int *align)
{
    int size;
    switch (code) {
    case 'x': case 'c': case 'b': case 'B': case '?': case 's': case 'p': size = 1; break;
    case 'h': case 'H': case 'e': size = 2; break;
    case 'i': case 'I': case 'f': size = 4; break;
    case 'l': case 'L': size = native ? 8 : 4; break;
    case 'q': case 'Q': case 'd': size = 8; break;
    case 'n': case 'N': case 'P': size = native ? 8 : 0; break;
    default: size = 0; break;
    }
    *align = (code == 's' || code == 'p' || code == 'x') ? 1 : size;
    return size;
}

/* struct.calcsize for the struct subset, in 128 bits; NO_OPINION outside it. */
static int64_t model_calcsize(const char *s)
{
    size_t i = 0;
    while (model_space(s[i])) {
        i++;
    }
    char mode = '@';
    if (strchr("@=<>!^", s[i]) != NULL && s[i] != '\0') {
        mode = s[i++];
    }
    for (size_t k = i; s[k] != '\0'; k++) {
        if (strchr("@=<>!^T{}():", s[k]) != NULL) {
            return NO_OPINION;
        }
    }
    int native = mode == '@' || mode == '^';
    i128 size = 0;
    int items = 0;
    for (;;) {
        while (model_space(s[i])) {
            i++;
        }
        if (s[i] == '\0') {
            break;
        }
        i128 count = 1;
        if (s[i] >= '0' && s[i] <= '9') {
            count = 0;
            while (s[i] >= '0' && s[i] <= '9') {
                count = count * 10 + (s[i++] - '0');
                if (count > INT64_MAX) {
                    return PB_EOVERFLOW;
                }
            }
        }
        int align;
        int item_size = model_code(s[i], native, &align);
        if (item_size == 0) {
            return PB_EFORMAT;
        }
        i++;
        if (mode == '@') {
            size = (size + align - 1) / align * align;
        }
        size += count * item_size;
        if (size > INT64_MAX) {
            return PB_EOVERFLOW;
        }
        items++;
    }
    return items == 0 ? PB_EFORMAT : (int64_t)size;
}

static int64_t size_of(const uint8_t *data, size_t size, const char *suffix)
{
    size_t suffix_len = strlen(suffix);
    char *format = malloc(size + suffix_len + 1);
    memcpy(format, data, size);
    memcpy(format + size, suffix, suffix_len + 1);
    int64_t result = pb_size_from_format(format);
    free(format);
    return result;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t result = size_of(data, size, "");
    if (result < 0 && result != PB_EFORMAT && result != PB_EOVERFLOW) {
        fprintf(stderr, "pb_size_from_format returned %lld\n", (long long)result);
        abort();
    }
    /* The model reads a C string: it stops at an embedded NUL, as panbuf does. */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    int64_t expected = model_calcsize(text);
    free(text);
    if (expected != NO_OPINION && expected != result) {
        fprintf(stderr, "pb_size_from_format returned %lld, the struct model %lld\n",
                (long long)result, (long long)expected);
        abort();
    }
    if (result >= 0 && memchr(data, '\0', size) == NULL) {
        int64_t padded = size_of(data, size, " \t");
        if (padded != result) {
            fprintf(stderr, "appending whitespace changed the size from %lld to %lld\n",
                    (long long)result, (long long)padded);
            abort();
        }
    }
    return 0;
}
