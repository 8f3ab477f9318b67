/*
 * vec.h - the one loader for the .vec files in tests/vectors.
 *
 * File format: one case per line, fields `key=value` separated by spaces or tabs.
 * Lines that are blank or start with '#' are ignored. Values are hex unless the
 * test reads them as text (vec_str); an empty hex value is written `key=`.
 * A trailing backslash continues a case on the next line (long RSA vectors).
 *
 *   # RFC 5869 A.1
 *   hash=SHA256 ikm=0b0b0b... salt=000102... info=f0f1... len=42 prk=077709... okm=3cb25f...
 */
#ifndef TERN_TEST_VEC_H
#define TERN_TEST_VEC_H

#include <stddef.h>
#include <stdint.h>

#define VEC_MAX_FIELDS 32

typedef struct vec_case {
    const char *file; /* file name, for messages */
    int line;         /* line the case starts on */
    size_t nfields;
    struct {
        char *key;
        char *val;
    } f[VEC_MAX_FIELDS];
} vec_case;

/* Call |fn| for every case in tests/vectors/|name| (for example "hkdf.vec"), in
 * order. Stops at the first non-zero return of |fn| and returns it. Returns -1 (and
 * prints why) if the file cannot be read or a line is malformed; returns the number
 * of cases through |*count| when |count| is not NULL. */
int vec_foreach(const char *name, int (*fn)(const vec_case *c, void *ctx), void *ctx,
                size_t *count);

/* The text value of |key|, or NULL when the case has no such field. */
const char *vec_str(const vec_case *c, const char *key);

/* Decode the hex value of |key| into a new buffer (*out, malloc'd, caller frees;
 * never NULL on success, even for an empty value). Returns the length, or -1 when
 * the field is missing or not hex (and prints the file and line). */
long vec_hex(const vec_case *c, const char *key, uint8_t **out);

/* The decimal value of |key|, or |dflt| when missing. */
long vec_int(const vec_case *c, const char *key, long dflt);

#endif
