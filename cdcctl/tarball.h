/* tarball: in-memory tar archives (libarchive, pax format) for the Docker archive
 * upload (PUT /containers/{id}/archive) and for build contexts (POST /build).
 * Output is reproducible: entries keep their order (directory walks are sorted),
 * mtime is fixed at 2020-01-01T00:00:00Z, no user/group names are stored. */
#ifndef CDCCTL_TARBALL_H
#define CDCCTL_TARBALL_H
#include <stddef.h>

#include "util.h"

/* The mtime every entry gets. */
#define TARBALL_MTIME 1577836800L

/* One file (or directory) to put in an archive. */
struct tar_entry {
    const char *path; /* '/'-separated, relative to the upload directory; leading '/'
                         and "./" are dropped; ".." is refused. A trailing '/' or
                         S_IFDIR in mode makes a directory entry. */
    const void *data; /* file content (may be NULL when len == 0) */
    size_t len;
    unsigned mode;    /* permission bits (07777); 0 means 0644 (0755 for directories) */
    unsigned uid, gid;
    const char *symlink; /* non-NULL: a symbolic link to this target (data/len unused) */
};

/* Also add an entry for every parent directory of each path (mode 0755, the
 * entry's uid/gid). Careful: Docker applies a directory entry's owner and mode
 * to a directory that already exists in the container (e.g. "tmp/" would turn
 * /tmp into 0755). Without this flag Docker creates missing parents itself as
 * root:root 0755 and leaves existing ones alone, which is usually what you want. */
#define TARBALL_PARENT_DIRS 1u

/* Builds a tar of the n entries into a malloc'd buffer (*out, *outlen; caller
 * frees). CC_EINVAL for a bad path, CC_ERR when libarchive fails. */
int tarball_build(const struct tar_entry *entries, size_t n, unsigned flags, void **out,
                  size_t *outlen, char *err, size_t errlen);

/* Builds a tar of the directory tree `dir` (a Docker build context), honouring
 * dir/.dockerignore: '#' comments, blank lines, '!' exceptions, '*', '?', '[...]'
 * and '**' globs, a pattern that matches a directory excludes what is inside, the
 * last matching pattern wins. The Dockerfile (`dockerfile`, relative to dir; NULL =
 * "Dockerfile") and .dockerignore are always included, like the docker CLI does.
 * Regular files, directories and symlinks are archived (mode kept, uid/gid 0);
 * other file types are skipped. CC_ENOTFOUND when dir does not exist. */
int tarball_from_dir(const char *dir, const char *dockerfile, void **out, size_t *outlen,
                     char *err, size_t errlen);

/* .dockerignore rules. Zero-initialise or fill with dockerignore_parse. */
struct dockerignore {
    char **patterns; /* cleaned patterns without the '!' */
    int *negate;     /* 1 for '!' exceptions */
    size_t n;
    int any_negate;
};
/* Parses .dockerignore text (NUL-terminated) into *di (overwritten). */
void dockerignore_parse(const char *text, struct dockerignore *di);
/* 1 when relpath ('/'-separated, relative to the context) is excluded. */
int dockerignore_excluded(const struct dockerignore *di, const char *relpath);
void dockerignore_release(struct dockerignore *di);

/* Glob match of a whole '/'-separated path: '*' and '?' do not cross '/', '**'
 * does ("**" + "/" also matches zero directories), '[...]' classes with '^' or '!'
 * negation and ranges, '\' escapes. */
int tarball_glob_match(const char *pattern, const char *path);

#endif
