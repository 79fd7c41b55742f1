/* tarball: in-memory tar archives with libarchive (see tarball.h). */
#include "tarball.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ writer */

struct writer {
    struct archive *a;
    struct strbuf buf;
    char **dirs; /* directories already written (TARBALL_PARENT_DIRS) */
    size_t ndirs;
};

static la_ssize_t write_cb(struct archive *a, void *ctx, const void *data, size_t len)
{
    (void)a;
    struct writer *w = ctx;
    strbuf_add(&w->buf, data, len);
    return (la_ssize_t)len;
}

static int writer_open(struct writer *w, char *err, size_t errlen)
{
    memset(w, 0, sizeof *w);
    w->a = archive_write_new();
    if (!w->a || archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
        archive_write_open(w->a, w, NULL, write_cb, NULL) != ARCHIVE_OK)
        return cc_errf(err, errlen, CC_ERR, "tar: %s",
                       w->a ? archive_error_string(w->a) : "cannot allocate archive");
    return CC_OK;
}

static void writer_free(struct writer *w)
{
    if (w->a)
        archive_write_free(w->a);
    w->a = NULL;
    for (size_t i = 0; i < w->ndirs; i++)
        free(w->dirs[i]);
    free(w->dirs);
    strbuf_release(&w->buf);
}

static int writer_close(struct writer *w, void **out, size_t *outlen, char *err, size_t errlen)
{
    if (archive_write_close(w->a) != ARCHIVE_OK)
        return cc_errf(err, errlen, CC_ERR, "tar: %s", archive_error_string(w->a));
    *outlen = w->buf.len;
    *out = strbuf_detach(&w->buf);
    return CC_OK;
}

/* Writes one entry. type is AE_IFREG, AE_IFDIR or AE_IFLNK (data = link target). */
static int writer_add(struct writer *w, const char *path, unsigned type, const void *data,
                      size_t len, unsigned mode, unsigned uid, unsigned gid, char *err,
                      size_t errlen)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode & 07777);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_mtime(e, TARBALL_MTIME, 0);
    char *target = NULL;
    if (type == AE_IFLNK) {
        target = xstrndup(data, len);
        archive_entry_set_symlink(e, target);
    }
    archive_entry_set_size(e, type == AE_IFREG ? (la_int64_t)len : 0);
    int rc = CC_OK;
    if (archive_write_header(w->a, e) != ARCHIVE_OK) {
        rc = cc_errf(err, errlen, CC_ERR, "tar: %s: %s", path, archive_error_string(w->a));
        goto out;
    }
    if (type == AE_IFREG && len &&
        archive_write_data(w->a, data, len) != (la_ssize_t)len) {
        rc = cc_errf(err, errlen, CC_ERR, "tar: %s: %s", path, archive_error_string(w->a));
        goto out;
    }
out:
    free(target);
    archive_entry_free(e);
    return rc;
}

static int writer_has_dir(struct writer *w, const char *dir)
{
    for (size_t i = 0; i < w->ndirs; i++)
        if (strcmp(w->dirs[i], dir) == 0)
            return 1;
    return 0;
}

static void writer_note_dir(struct writer *w, const char *dir)
{
    if (writer_has_dir(w, dir))
        return;
    w->dirs = xrealloc(w->dirs, (w->ndirs + 1) * sizeof *w->dirs);
    w->dirs[w->ndirs++] = xstrdup(dir);
}

/* Cleans an entry path into sb: drops leading '/', "." and empty components.
 * CC_EINVAL for ".." or an empty result. *is_dir is set for a trailing '/'. */
static int clean_path(const char *path, struct strbuf *sb, int *is_dir, char *err, size_t errlen)
{
    strbuf_reset(sb);
    size_t n = path ? strlen(path) : 0;
    *is_dir = n && path[n - 1] == '/';
    const char *p = path ? path : "";
    while (*p) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.')
            return cc_errf(err, errlen, CC_EINVAL, "tar: path '%s': '..' is not allowed", path);
        if (len && !(len == 1 && p[0] == '.')) {
            if (sb->len)
                strbuf_adds(sb, "/");
            strbuf_add(sb, p, len);
        }
        p += len;
        if (*p == '/')
            p++;
    }
    if (!sb->len)
        return cc_errf(err, errlen, CC_EINVAL, "tar: empty path '%s'", path ? path : "");
    return CC_OK;
}

int tarball_build(const struct tar_entry *entries, size_t n, unsigned flags, void **out,
                  size_t *outlen, char *err, size_t errlen)
{
    struct writer w;
    struct strbuf path = {0};
    *out = NULL;
    *outlen = 0;
    int rc = writer_open(&w, err, errlen);
    if (rc != CC_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const struct tar_entry *e = &entries[i];
        int is_dir;
        if ((rc = clean_path(e->path, &path, &is_dir, err, errlen)) != CC_OK)
            goto out;
        is_dir = is_dir || S_ISDIR(e->mode);
        if (flags & TARBALL_PARENT_DIRS) {
            for (char *s = strchr(path.buf, '/'); s; s = strchr(s + 1, '/')) {
                *s = '\0';
                if (!writer_has_dir(&w, path.buf)) {
                    rc = writer_add(&w, path.buf, AE_IFDIR, NULL, 0, 0755, e->uid, e->gid, err, errlen);
                    writer_note_dir(&w, path.buf);
                }
                *s = '/';
                if (rc != CC_OK)
                    goto out;
            }
        }
        unsigned perm = e->mode & 07777;
        if (!perm)
            perm = is_dir ? 0755 : 0644;
        if (e->symlink) {
            rc = writer_add(&w, path.buf, AE_IFLNK, e->symlink, strlen(e->symlink), 0777, e->uid,
                            e->gid, err, errlen);
        } else if (is_dir) {
            writer_note_dir(&w, path.buf);
            rc = writer_add(&w, path.buf, AE_IFDIR, NULL, 0, perm, e->uid, e->gid, err, errlen);
        } else {
            rc = writer_add(&w, path.buf, AE_IFREG, e->data, e->len, perm, e->uid, e->gid, err, errlen);
        }
        if (rc != CC_OK)
            goto out;
    }
    rc = writer_close(&w, out, outlen, err, errlen);
out:
    writer_free(&w);
    strbuf_release(&path);
    return rc;
}

/* ------------------------------------------------------------------ globs */

/* Matches a '[...]' class at *pp against c; advances *pp past it. -1 when the
 * class is unterminated (then '[' is literal). */
static int class_match(const char **pp, char c)
{
    const char *p = *pp + 1;
    int neg = 0, hit = 0;
    if (*p == '^' || *p == '!') {
        neg = 1;
        p++;
    }
    int first = 1;
    while (*p && (*p != ']' || first)) {
        first = 0;
        char lo = *p;
        if (lo == '\\' && p[1])
            lo = *++p;
        p++;
        char hi = lo;
        if (*p == '-' && p[1] && p[1] != ']') {
            p++;
            hi = *p;
            if (hi == '\\' && p[1])
                hi = *++p;
            p++;
        }
        if (c >= lo && c <= hi)
            hit = 1;
    }
    if (*p != ']')
        return -1;
    *pp = p + 1;
    return c != '/' && hit != neg;
}

int tarball_glob_match(const char *p, const char *s)
{
    while (*p) {
        if (p[0] == '*' && p[1] == '*') {
            p += 2;
            while (*p == '*')
                p++;
            if (*p == '/') {
                /* "**" + "/": zero or more whole directories */
                p++;
                if (tarball_glob_match(p, s))
                    return 1;
                for (const char *t = s; *t; t++)
                    if (*t == '/' && tarball_glob_match(p, t + 1))
                        return 1;
                return 0;
            }
            for (const char *t = s;; t++) {
                if (tarball_glob_match(p, t))
                    return 1;
                if (!*t)
                    return 0;
            }
        }
        if (*p == '*') {
            p++;
            for (const char *t = s;; t++) {
                if (tarball_glob_match(p, t))
                    return 1;
                if (!*t || *t == '/')
                    return 0;
            }
        }
        if (!*s)
            return 0;
        if (*p == '?') {
            if (*s == '/')
                return 0;
            p++;
            s++;
            continue;
        }
        if (*p == '[') {
            const char *q = p;
            int m = class_match(&q, *s);
            if (m >= 0) {
                if (!m)
                    return 0;
                p = q;
                s++;
                continue;
            }
        }
        if (*p == '\\' && p[1])
            p++;
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return *s == '\0';
}

/* ------------------------------------------------------------------ .dockerignore */

static void di_add(struct dockerignore *di, const char *pattern, int negate)
{
    di->patterns = xrealloc(di->patterns, (di->n + 1) * sizeof *di->patterns);
    di->negate = xrealloc(di->negate, (di->n + 1) * sizeof *di->negate);
    di->patterns[di->n] = xstrdup(pattern);
    di->negate[di->n] = negate;
    di->n++;
    di->any_negate |= negate;
}

/* filepath.Clean for patterns: collapse '/', drop ".", resolve "..", no leading '/'. */
static char *clean_pattern(const char *p)
{
    struct strbuf sb = {0};
    while (*p) {
        size_t len = strcspn(p, "/");
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            char *slash = sb.len ? strrchr(sb.buf, '/') : NULL;
            if (slash) {
                sb.len = (size_t)(slash - sb.buf);
                sb.buf[sb.len] = '\0';
            } else {
                strbuf_reset(&sb);
            }
        } else if (len && !(len == 1 && p[0] == '.')) {
            if (sb.len)
                strbuf_adds(&sb, "/");
            strbuf_add(&sb, p, len);
        }
        p += len;
        if (*p == '/')
            p++;
    }
    return strbuf_detach(&sb);
}

void dockerignore_parse(const char *text, struct dockerignore *di)
{
    memset(di, 0, sizeof *di);
    if (!text)
        return;
    if (strncmp(text, "\xEF\xBB\xBF", 3) == 0)
        text += 3;
    const char *line = text;
    while (*line) {
        size_t len = strcspn(line, "\n");
        const char *next = line + len + (line[len] == '\n');
        while (len && strchr(" \t\r\v\f", line[len - 1]))
            len--;
        while (len && strchr(" \t\r\v\f", *line)) {
            line++;
            len--;
        }
        if (len && line[0] != '#') {
            char *pat = xstrndup(line, len);
            char *p = pat;
            int negate = 0;
            if (*p == '!') {
                negate = 1;
                p++;
                while (*p == ' ' || *p == '\t')
                    p++;
            }
            char *clean = clean_pattern(p);
            if (*clean)
                di_add(di, clean, negate);
            free(clean);
            free(pat);
        }
        line = next;
    }
}

/* Does the pattern match the path or one of its parent directories? */
static int match_or_parent(const char *pattern, const char *path)
{
    if (tarball_glob_match(pattern, path))
        return 1;
    char *copy = xstrdup(path);
    int hit = 0;
    for (char *s = strchr(copy, '/'); s && !hit; s = strchr(s + 1, '/')) {
        *s = '\0';
        hit = tarball_glob_match(pattern, copy);
        *s = '/';
    }
    free(copy);
    return hit;
}

int dockerignore_excluded(const struct dockerignore *di, const char *relpath)
{
    int excluded = 0;
    for (size_t i = 0; i < di->n; i++) {
        /* an exclusion cannot change an excluded path, nor an exception an included one */
        if (di->negate[i] != excluded)
            continue;
        if (match_or_parent(di->patterns[i], relpath))
            excluded = !di->negate[i];
    }
    return excluded;
}

void dockerignore_release(struct dockerignore *di)
{
    if (!di)
        return;
    for (size_t i = 0; i < di->n; i++)
        free(di->patterns[i]);
    free(di->patterns);
    free(di->negate);
    memset(di, 0, sizeof *di);
}

/* ------------------------------------------------------------------ directories */

struct walk {
    struct writer w;
    const char *root;
    struct dockerignore di;
    char *dockerfile; /* cleaned, relative */
};

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_dir(struct walk *wk, const char *rel, char *err, size_t errlen)
{
    struct strbuf abs = {0}, child = {0};
    char **names = NULL;
    size_t n = 0;
    int rc = CC_OK;
    strbuf_addf(&abs, "%s%s%s", wk->root, *rel ? "/" : "", rel);
    DIR *d = opendir(abs.buf);
    if (!d) {
        rc = cc_errf(err, errlen, errno == ENOENT && !*rel ? CC_ENOTFOUND : CC_ERR,
                     "build context '%s': %s", abs.buf, strerror(errno));
        goto out;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        names = xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);

    for (size_t i = 0; i < n && rc == CC_OK; i++) {
        strbuf_reset(&child);
        strbuf_addf(&child, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        struct strbuf path = {0};
        strbuf_addf(&path, "%s/%s", wk->root, child.buf);
        struct stat st;
        if (lstat(path.buf, &st) != 0) {
            rc = cc_errf(err, errlen, CC_ERR, "build context '%s': %s", path.buf, strerror(errno));
            strbuf_release(&path);
            break;
        }
        int keep = strcmp(child.buf, wk->dockerfile) == 0 || strcmp(child.buf, ".dockerignore") == 0;
        int excluded = !keep && dockerignore_excluded(&wk->di, child.buf);
        unsigned perm = st.st_mode & 07777;
        if (S_ISDIR(st.st_mode)) {
            if (!excluded)
                rc = writer_add(&wk->w, child.buf, AE_IFDIR, NULL, 0, perm, 0, 0, err, errlen);
            /* an excluded directory may still hold '!' exceptions */
            if (rc == CC_OK && (!excluded || wk->di.any_negate))
                rc = walk_dir(wk, child.buf, err, errlen);
        } else if (!excluded && S_ISREG(st.st_mode)) {
            char *data = NULL;
            size_t len = 0;
            rc = read_file(path.buf, &data, &len, err, errlen);
            if (rc == CC_OK)
                rc = writer_add(&wk->w, child.buf, AE_IFREG, data, len, perm, 0, 0, err, errlen);
            free(data);
        } else if (!excluded && S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t tl = readlink(path.buf, target, sizeof target);
            if (tl < 0 || (size_t)tl >= sizeof target)
                rc = cc_errf(err, errlen, CC_ERR, "build context '%s': cannot read link", path.buf);
            else
                rc = writer_add(&wk->w, child.buf, AE_IFLNK, target, (size_t)tl, 0777, 0, 0, err, errlen);
        }
        strbuf_release(&path);
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    strbuf_release(&abs);
    strbuf_release(&child);
    return rc;
}

int tarball_from_dir(const char *dir, const char *dockerfile, void **out, size_t *outlen,
                     char *err, size_t errlen)
{
    struct walk wk = {.root = dir};
    char *ignore = NULL;
    size_t ignore_len = 0;
    *out = NULL;
    *outlen = 0;
    wk.dockerfile = clean_pattern(dockerfile && *dockerfile ? dockerfile : "Dockerfile");
    int rc = writer_open(&wk.w, err, errlen);
    if (rc != CC_OK)
        goto out;
    struct stat st;
    if (stat(dir, &st) != 0) {
        rc = cc_errf(err, errlen, errno == ENOENT ? CC_ENOTFOUND : CC_ERR, "build context '%s': %s",
                     dir, strerror(errno));
        goto out;
    }
    if (!S_ISDIR(st.st_mode)) {
        rc = cc_errf(err, errlen, CC_EINVAL, "build context '%s': not a directory", dir);
        goto out;
    }
    struct strbuf path = {0};
    strbuf_addf(&path, "%s/.dockerignore", dir);
    rc = read_file(path.buf, &ignore, &ignore_len, err, errlen);
    strbuf_release(&path);
    if (rc == CC_ENOTFOUND)
        rc = CC_OK;
    else if (rc != CC_OK)
        goto out;
    dockerignore_parse(ignore, &wk.di);
    if ((rc = walk_dir(&wk, "", err, errlen)) != CC_OK)
        goto out;
    rc = writer_close(&wk.w, out, outlen, err, errlen);
out:
    writer_free(&wk.w);
    dockerignore_release(&wk.di);
    free(wk.dockerfile);
    free(ignore);
    return rc;
}
