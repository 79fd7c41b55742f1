/* manifest_interp: docker compose variable interpolation.
 *   $$             a literal $
 *   $VAR ${VAR}    the value, "" when unset
 *   ${VAR:-dflt}   dflt when VAR is unset or empty;  ${VAR-dflt}: only when unset
 *   ${VAR:?msg}    error when VAR is unset or empty; ${VAR?msg}:  only when unset
 *   ${VAR:+repl}   repl when VAR is set and non-empty; ${VAR+repl}: when set
 * Defaults and replacements may contain further interpolation (${A:-${B}}). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "manifest_priv.h"

#define MAX_NESTING 16

static const char *lookup(const struct manifest_source *src, const char *name)
{
    if (src && src->getenv_fn)
        return src->getenv_fn(name, src->getenv_ctx);
    return getenv(name);
}

static int name_start(int c) { return c == '_' || isalpha((unsigned char)c); }
static int name_char(int c) { return c == '_' || isalnum((unsigned char)c); }

static int invalid(const char *at, const char *why, char *err, size_t errlen)
{
    /* Quote a short excerpt starting at the offending $. */
    size_t n = strcspn(at, "\n");
    if (n > 24)
        n = 24;
    return cc_errf(err, errlen, CC_EINVAL,
                   "invalid interpolation \"%.*s\": %s (write $$ for a literal $)", (int)n, at,
                   why);
}

static int interp(const char *s, size_t len, const struct manifest_source *src,
                  struct strbuf *out, int depth, char *err, size_t errlen);

/* Handles "${...}" starting at s (s[0] == '$', s[1] == '{'); *used gets the length. */
static int braced(const char *s, size_t len, const struct manifest_source *src,
                  struct strbuf *out, int depth, size_t *used, char *err, size_t errlen)
{
    size_t i = 2;
    if (i >= len || !name_start(s[i]))
        return invalid(s, i >= len || s[i] != '}' ? "expected a variable name after ${"
                                                  : "empty variable name", err, errlen);
    size_t name_begin = i;
    while (i < len && name_char(s[i]))
        i++;
    char *name = xstrndup(s + name_begin, i - name_begin);
    const char *val = lookup(src, name);
    int rc = CC_OK;
    if (i < len && s[i] == '}') {
        if (val)
            strbuf_adds(out, val);
        *used = i + 1;
        goto out;
    }
    int colon = 0;
    if (i < len && s[i] == ':') {
        colon = 1;
        i++;
    }
    char op = i < len ? s[i] : '\0';
    if (op != '-' && op != '?' && op != '+') {
        rc = invalid(s, i >= len ? "missing closing }" : "unexpected character after the variable name",
                     err, errlen);
        goto out;
    }
    i++;
    /* The argument runs to the matching }, skipping nested ${...} and $$. */
    size_t arg_begin = i;
    int level = 0;
    while (i < len) {
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '$') {
            i += 2;
            continue;
        }
        if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            level++;
            i += 2;
            continue;
        }
        if (s[i] == '}') {
            if (level == 0)
                break;
            level--;
        }
        i++;
    }
    if (i >= len) {
        rc = invalid(s, "missing closing }", err, errlen);
        goto out;
    }
    size_t arg_len = i - arg_begin;
    *used = i + 1;
    int unset = colon ? (!val || !*val) : !val;
    switch (op) {
    case '-':
        if (unset)
            rc = interp(s + arg_begin, arg_len, src, out, depth + 1, err, errlen);
        else
            strbuf_adds(out, val);
        break;
    case '+':
        if (!unset)
            rc = interp(s + arg_begin, arg_len, src, out, depth + 1, err, errlen);
        break;
    case '?':
        if (!unset) {
            strbuf_adds(out, val);
        } else if (arg_len) {
            struct strbuf msg = {0};
            rc = interp(s + arg_begin, arg_len, src, &msg, depth + 1, err, errlen);
            if (rc == CC_OK)
                rc = cc_errf(err, errlen, CC_EINVAL, "required variable %s is missing: %s", name,
                             msg.buf ? msg.buf : "");
            strbuf_release(&msg);
        } else {
            rc = cc_errf(err, errlen, CC_EINVAL, "required variable %s is missing a value", name);
        }
        break;
    }
out:
    free(name);
    return rc;
}

static int interp(const char *s, size_t len, const struct manifest_source *src,
                  struct strbuf *out, int depth, char *err, size_t errlen)
{
    if (depth > MAX_NESTING)
        return cc_errf(err, errlen, CC_EINVAL, "interpolation nested too deeply");
    size_t i = 0;
    while (i < len) {
        const char *dollar = memchr(s + i, '$', len - i);
        if (!dollar) {
            strbuf_add(out, s + i, len - i);
            break;
        }
        size_t d = (size_t)(dollar - s);
        strbuf_add(out, s + i, d - i);
        i = d;
        if (i + 1 < len && s[i + 1] == '$') {
            strbuf_add(out, "$", 1);
            i += 2;
        } else if (i + 1 < len && name_start(s[i + 1])) {
            size_t j = i + 1;
            while (j < len && name_char(s[j]))
                j++;
            char *name = xstrndup(s + i + 1, j - i - 1);
            const char *val = lookup(src, name);
            if (val)
                strbuf_adds(out, val);
            free(name);
            i = j;
        } else if (i + 1 < len && s[i + 1] == '{') {
            size_t used = 0;
            int rc = braced(s + i, len - i, src, out, depth, &used, err, errlen);
            if (rc != CC_OK)
                return rc;
            i += used;
        } else {
            /* Like compose: "$" followed by anything else is an error, not a literal. */
            return invalid(s + i, "expected a variable name after $", err, errlen);
        }
    }
    return CC_OK;
}

char *manifest_interpolate(const char *text, const struct manifest_source *src, char *err,
                           size_t errlen)
{
    struct strbuf out = {0};
    if (!text)
        text = "";
    if (!strchr(text, '$'))
        return xstrdup(text);
    if (interp(text, strlen(text), src, &out, 0, err, errlen) != CC_OK) {
        strbuf_release(&out);
        return NULL;
    }
    if (!out.buf)
        strbuf_adds(&out, "");
    return strbuf_detach(&out);
}
