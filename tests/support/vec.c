/*
 * vec.c - see vec.h. Reads a whole file, splits it into cases in place, and hands
 * each case to the caller; nothing is kept between calls.
 */
#include "vec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *bigger = realloc(buf, 2 * cap + 1);
            if (bigger == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf != NULL)
        buf[n] = '\0';
    *len = n;
    return buf;
}

/* Split one logical line (already joined) into fields. */
static int parse_case(char *s, vec_case *c)
{
    c->nfields = 0;
    for (;;) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0')
            return 0;
        char *tok = s;
        while (*s != '\0' && *s != ' ' && *s != '\t')
            s++;
        if (*s != '\0')
            *s++ = '\0';
        char *eq = strchr(tok, '=');
        if (eq == NULL || c->nfields == VEC_MAX_FIELDS) {
            fprintf(stderr, "%s:%d: bad field '%s'\n", c->file, c->line, tok);
            return -1;
        }
        *eq = '\0';
        c->f[c->nfields].key = tok;
        c->f[c->nfields].val = eq + 1;
        c->nfields++;
    }
}

int vec_foreach(const char *name, int (*fn)(const vec_case *c, void *ctx), void *ctx,
                size_t *count)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", test_vector_dir(), name);
    size_t len;
    char *text = read_file(path, &len);
    if (text == NULL) {
        fprintf(stderr, "cannot read %s\n", path);
        return -1;
    }
    int rc = 0, lineno = 0;
    size_t ncases = 0;
    char *p = text;
    while (*p != '\0' && rc == 0) {
        /* Join continuation lines: a '\' before the newline becomes a space. */
        char *start = p;
        int first = ++lineno;
        char *out = p;
        while (*p != '\0' && *p != '\n') {
            if (*p == '\\' && (p[1] == '\n' || (p[1] == '\r' && p[2] == '\n'))) {
                p += p[1] == '\r' ? 3 : 2;
                lineno++;
                *out++ = ' ';
                continue;
            }
            if (*p != '\r')
                *out++ = *p;
            p++;
        }
        if (*p == '\n')
            p++;
        *out = '\0';
        char *s = start;
        while (*s == ' ' || *s == '\t')
            s++;
        if (*s == '\0' || *s == '#')
            continue;
        vec_case c = {.file = name, .line = first};
        if (parse_case(s, &c) != 0) {
            rc = -1;
            break;
        }
        ncases++;
        rc = fn(&c, ctx);
    }
    free(text);
    if (count != NULL)
        *count = ncases;
    return rc;
}

const char *vec_str(const vec_case *c, const char *key)
{
    for (size_t i = 0; i < c->nfields; i++)
        if (strcmp(c->f[i].key, key) == 0)
            return c->f[i].val;
    return NULL;
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

long vec_hex(const vec_case *c, const char *key, uint8_t **out)
{
    const char *s = vec_str(c, key);
    size_t n = s ? strlen(s) : 0;
    if (s == NULL || n % 2 != 0) {
        fprintf(stderr, "%s:%d: field '%s' missing or odd-length\n", c->file, c->line, key);
        return -1;
    }
    uint8_t *buf = malloc(n / 2 + 1);
    if (buf == NULL)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "%s:%d: field '%s' is not hex\n", c->file, c->line, key);
            free(buf);
            return -1;
        }
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    *out = buf;
    return (long)(n / 2);
}

long vec_int(const vec_case *c, const char *key, long dflt)
{
    const char *s = vec_str(c, key);
    return s ? strtol(s, NULL, 10) : dflt;
}
