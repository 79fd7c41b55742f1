/* Unit tests of tarball: archives built in memory are read back with libarchive
 * (names, types, modes, owners, contents, mtime), parent directory entries, path
 * checks, reproducibility; build contexts from a directory with .dockerignore; the
 * glob matcher. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tarball.h"

/* One entry as read back. */
struct got {
    char path[512];
    char type; /* f d l */
    unsigned perm, uid, gid;
    char *data;
    size_t len;
    char link[256];
    long mtime;
};

static size_t read_back(const void *tar, size_t len, struct got *out, size_t max)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_memory(a, tar, len), ARCHIVE_OK);
    struct archive_entry *e;
    size_t n = 0;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        assert_true(n < max);
        struct got *g = &out[n++];
        memset(g, 0, sizeof *g);
        snprintf(g->path, sizeof g->path, "%s", archive_entry_pathname(e));
        mode_t t = archive_entry_filetype(e);
        g->type = t == AE_IFDIR ? 'd' : t == AE_IFLNK ? 'l' : t == AE_IFREG ? 'f' : '?';
        g->perm = archive_entry_perm(e);
        g->uid = (unsigned)archive_entry_uid(e);
        g->gid = (unsigned)archive_entry_gid(e);
        g->mtime = (long)archive_entry_mtime(e);
        if (g->type == 'l')
            snprintf(g->link, sizeof g->link, "%s", archive_entry_symlink(e));
        g->len = (size_t)archive_entry_size(e);
        g->data = malloc(g->len + 1);
        assert_int_equal(archive_read_data(a, g->data, g->len), (la_ssize_t)g->len);
        g->data[g->len] = '\0';
    }
    archive_read_free(a);
    return n;
}

static void free_got(struct got *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(g[i].data);
}

/* "path:type:perm" lines of what was read back. */
static char *listing(const struct got *g, size_t n)
{
    struct strbuf sb = {0};
    for (size_t i = 0; i < n; i++)
        strbuf_addf(&sb, "%s:%c:%o\n", g[i].path, g[i].type, g[i].perm);
    return strbuf_detach(&sb);
}

static void test_build_round_trip(void **state)
{
    (void)state;
    char *big = malloc(1 << 20);
    for (size_t i = 0; i < 1 << 20; i++)
        big[i] = (char)(i * 31 + 7);
    char longname[300];
    snprintf(longname, sizeof longname, "deep/%0200d/file.txt", 0);
    struct tar_entry e[] = {
        {.path = "/etc/app/app.conf", .data = "key = value\n", .len = 12, .mode = 0640, .uid = 1000, .gid = 1001},
        {.path = "./etc/./app//extra.conf", .data = "", .len = 0},
        {.path = "var/lib/app/", .mode = 0750, .uid = 999, .gid = 999},
        {.path = "bin/tool", .data = big, .len = 1 << 20, .mode = 0755},
        {.path = "bin/alias", .symlink = "tool"},
        {.path = longname, .data = "x", .len = 1},
    };
    void *tar = NULL;
    size_t len = 0;
    char err[ERRLEN] = "";
    assert_int_equal(tarball_build(e, 6, 0, &tar, &len, err, sizeof err), CC_OK);
    assert_true(len > (1 << 20));
    struct got g[16];
    size_t n = read_back(tar, len, g, 16);
    char *l = listing(g, n);
    char want[1024];
    snprintf(want, sizeof want,
             "etc/app/app.conf:f:640\netc/app/extra.conf:f:644\nvar/lib/app/:d:750\n"
             "bin/tool:f:755\nbin/alias:l:777\n%s:f:644\n", longname);
    assert_string_equal(l, want);
    free(l);
    assert_string_equal(g[0].data, "key = value\n");
    assert_int_equal(g[0].uid, 1000);
    assert_int_equal(g[0].gid, 1001);
    assert_int_equal(g[0].mtime, TARBALL_MTIME);
    assert_int_equal(g[1].len, 0);
    assert_int_equal(g[2].uid, 999);
    assert_int_equal(g[3].len, 1 << 20);
    assert_memory_equal(g[3].data, big, 1 << 20);
    assert_string_equal(g[4].link, "tool");
    assert_string_equal(g[5].data, "x");
    free_got(g, n);

    /* reproducible: the same entries give the same bytes */
    void *tar2 = NULL;
    size_t len2 = 0;
    assert_int_equal(tarball_build(e, 6, 0, &tar2, &len2, err, sizeof err), CC_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(tar, tar2, len);
    free(tar);
    free(tar2);
    free(big);
}

static void test_parent_dirs(void **state)
{
    (void)state;
    struct tar_entry e[] = {
        {.path = "etc/tidb/tidb.toml", .data = "a", .len = 1, .mode = 0600, .uid = 7, .gid = 8},
        {.path = "etc/tidb/log.toml", .data = "b", .len = 1},
        {.path = "etc/pd.toml", .data = "c", .len = 1},
        {.path = "top.txt", .data = "d", .len = 1},
    };
    void *tar = NULL;
    size_t len = 0;
    char err[ERRLEN];
    assert_int_equal(tarball_build(e, 4, TARBALL_PARENT_DIRS, &tar, &len, err, sizeof err), CC_OK);
    struct got g[16];
    size_t n = read_back(tar, len, g, 16);
    char *l = listing(g, n);
    assert_string_equal(l, "etc/:d:755\netc/tidb/:d:755\netc/tidb/tidb.toml:f:600\n"
                           "etc/tidb/log.toml:f:644\netc/pd.toml:f:644\ntop.txt:f:644\n");
    free(l);
    assert_int_equal(g[0].uid, 7); /* parents take the owner of the entry that needed them */
    assert_int_equal(g[1].gid, 8);
    free_got(g, n);
    free(tar);

    /* without the flag: only the files (Docker creates missing parents itself) */
    assert_int_equal(tarball_build(e, 4, 0, &tar, &len, err, sizeof err), CC_OK);
    n = read_back(tar, len, g, 16);
    assert_int_equal(n, 4);
    assert_string_equal(g[0].path, "etc/tidb/tidb.toml");
    free_got(g, n);
    free(tar);

    /* nothing at all is a valid (empty) archive */
    assert_int_equal(tarball_build(NULL, 0, 0, &tar, &len, err, sizeof err), CC_OK);
    assert_int_equal(read_back(tar, len, g, 16), 0);
    free(tar);
}

static void test_bad_paths(void **state)
{
    (void)state;
    const char *bad[] = {"../etc/passwd", "a/../../b", "", "/", "./", NULL};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct tar_entry e = {.path = bad[i], .data = "x", .len = 1};
        void *tar = (void *)1;
        size_t len = 1;
        char err[ERRLEN] = "";
        assert_int_equal(tarball_build(&e, 1, 0, &tar, &len, err, sizeof err), CC_EINVAL);
        assert_null(tar);
        assert_int_equal(len, 0);
        assert_int_equal(strncmp(err, "tar: ", 5), 0);
    }
}

static void test_glob(void **state)
{
    (void)state;
    struct {
        const char *pat, *path;
        int want;
    } t[] = {
        {"*.log", "x.log", 1},       {"*.log", "a/x.log", 0},     {"a/*.log", "a/x.log", 1},
        {"**/*.log", "x.log", 1},    {"**/*.log", "a/b/x.log", 1}, {"**", "a/b", 1},
        {"a/**", "a/b/c", 1},        {"a/**/c", "a/c", 1},         {"a/**/c", "a/x/y/c", 1},
        {"a/**/c", "a/x/y/d", 0},    {"?.txt", "a.txt", 1},        {"?.txt", "ab.txt", 0},
        {"?", "/", 0},               {"[abc].c", "b.c", 1},        {"[!abc].c", "b.c", 0},
        {"[^abc].c", "d.c", 1},      {"[a-f]1", "e1", 1},          {"[a-f]1", "g1", 0},
        {"\\*x", "*x", 1},           {"\\*x", "ax", 0},            {"[", "[", 1},
        {"secret*", "secret.txt", 1}, {"secret*", "dir/secret.txt", 0}, {"", "", 1},
        {"abc", "abcd", 0},          {"*", "", 1},                 {"*/x", "a/b/x", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (tarball_glob_match(t[i].pat, t[i].path) != t[i].want)
            fail_msg("glob '%s' vs '%s': want %d", t[i].pat, t[i].path, t[i].want);
}

static void test_dockerignore_rules(void **state)
{
    (void)state;
    struct dockerignore di;
    dockerignore_parse("\xEF\xBB\xBF# comment\n\n  *.log  \r\n!keep.log\nbuild/\n/abs\n./dot/x\n"
                       "docs/../tmp\nnode_modules\n!node_modules/keep/**\n",
                       &di);
    assert_int_equal(di.n, 8);
    assert_string_equal(di.patterns[0], "*.log");
    assert_string_equal(di.patterns[2], "build");
    assert_string_equal(di.patterns[3], "abs");
    assert_string_equal(di.patterns[4], "dot/x");
    assert_string_equal(di.patterns[5], "tmp");
    assert_true(di.any_negate);
    assert_true(dockerignore_excluded(&di, "x.log"));
    assert_false(dockerignore_excluded(&di, "keep.log"));
    assert_false(dockerignore_excluded(&di, "sub/x.log")); /* '*' does not cross '/' */
    assert_true(dockerignore_excluded(&di, "build"));
    assert_true(dockerignore_excluded(&di, "build/out/a.o")); /* parent matches */
    assert_true(dockerignore_excluded(&di, "abs/f"));
    assert_false(dockerignore_excluded(&di, "sub/abs/f"));
    assert_true(dockerignore_excluded(&di, "dot/x"));
    assert_true(dockerignore_excluded(&di, "tmp/y"));
    assert_true(dockerignore_excluded(&di, "node_modules/left-pad/index.js"));
    assert_false(dockerignore_excluded(&di, "node_modules/keep/a/b.js"));
    assert_false(dockerignore_excluded(&di, "src/main.c"));
    dockerignore_release(&di);
    dockerignore_parse(NULL, &di);
    assert_int_equal(di.n, 0);
    assert_false(dockerignore_excluded(&di, "x"));
    dockerignore_release(&di);
}

static void write_at(const char *root, const char *rel, const char *content, mode_t mode)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char err[ERRLEN];
    /* write_file_atomic creates parents 0700; fix them up for a realistic tree */
    assert_int_equal(write_file_atomic(path, content, strlen(content), mode, err, sizeof err), CC_OK);
    for (char *s = strrchr(path, '/'); s && s > path + strlen(root); s = strrchr(path, '/')) {
        *s = '\0';
        chmod(path, 0755);
    }
}

static void test_from_dir(void **state)
{
    (void)state;
    char root[] = "/tmp/cdcctl-tarball-XXXXXX";
    assert_non_null(mkdtemp(root));
    write_at(root, "Dockerfile", "FROM scratch\n", 0644);
    write_at(root, ".dockerignore",
             "# not needed in the image\n*.log\n!keep.log\nbuild\nsecret*\n**/*.tmp\n/abs\nDockerfile\n"
             ".dockerignore\ndocker\n",
             0644);
    write_at(root, "a.txt", "a", 0644);
    write_at(root, "x.log", "x", 0644);
    write_at(root, "keep.log", "k", 0644);
    write_at(root, "build/out.bin", "o", 0644);
    write_at(root, "src/main.c", "int main;", 0600);
    write_at(root, "src/deep/z.tmp", "z", 0644);
    write_at(root, "src/deep/run.sh", "#!/bin/sh\n", 0755);
    write_at(root, "secret.txt", "s", 0644);
    write_at(root, "abs/f", "f", 0644);
    write_at(root, "sub/abs/f", "f", 0644);
    write_at(root, "docker/Dockerfile.dev", "FROM scratch\n", 0644);
    write_at(root, "docker/other", "o", 0644);
    char link[4096];
    snprintf(link, sizeof link, "%s/link", root);
    assert_int_equal(symlink("a.txt", link), 0);

    void *tar = NULL;
    size_t len = 0;
    char err[ERRLEN] = "";
    assert_int_equal(tarball_from_dir(root, NULL, &tar, &len, err, sizeof err), CC_OK);
    struct got g[64];
    size_t n = read_back(tar, len, g, 64);
    char *l = listing(g, n);
    /* sorted walk (directories end in '/' as tar writes them); Dockerfile and
     * .dockerignore are kept although listed */
    assert_string_equal(l, ".dockerignore:f:644\nDockerfile:f:644\na.txt:f:644\nkeep.log:f:644\n"
                           "link:l:777\nsrc/:d:755\nsrc/deep/:d:755\nsrc/deep/run.sh:f:755\n"
                           "src/main.c:f:600\nsub/:d:755\nsub/abs/:d:755\nsub/abs/f:f:644\n");
    free(l);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(g[i].uid, 0);
        assert_int_equal(g[i].mtime, TARBALL_MTIME);
    }
    assert_string_equal(g[8].data, "int main;");
    assert_string_equal(g[4].link, "a.txt");
    free_got(g, n);
    free(tar);

    /* a Dockerfile elsewhere is kept even inside an excluded directory */
    assert_int_equal(tarball_from_dir(root, "docker/Dockerfile.dev", &tar, &len, err, sizeof err), CC_OK);
    n = read_back(tar, len, g, 64);
    int found = 0, other = 0, plain = 0;
    for (size_t i = 0; i < n; i++) {
        found |= strcmp(g[i].path, "docker/Dockerfile.dev") == 0;
        other |= strcmp(g[i].path, "docker/other") == 0;
        plain |= strcmp(g[i].path, "Dockerfile") == 0;
    }
    assert_true(found);
    assert_false(other);
    assert_false(plain); /* excluded now that it is not the Dockerfile */
    free_got(g, n);
    free(tar);

    /* errors */
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/nope", root);
    assert_int_equal(tarball_from_dir(missing, NULL, &tar, &len, err, sizeof err), CC_ENOTFOUND);
    assert_null(tar);
    char file[4200];
    snprintf(file, sizeof file, "%s/a.txt", root);
    assert_int_equal(tarball_from_dir(file, NULL, &tar, &len, err, sizeof err), CC_EINVAL);

    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

static void test_from_dir_without_dockerignore(void **state)
{
    (void)state;
    char root[] = "/tmp/cdcctl-tarball-XXXXXX";
    assert_non_null(mkdtemp(root));
    write_at(root, "Dockerfile", "FROM scratch\n", 0644);
    write_at(root, "x.log", "x", 0640);
    void *tar = NULL;
    size_t len = 0;
    char err[ERRLEN] = "";
    assert_int_equal(tarball_from_dir(root, "Dockerfile", &tar, &len, err, sizeof err), CC_OK);
    struct got g[8];
    size_t n = read_back(tar, len, g, 8);
    char *l = listing(g, n);
    assert_string_equal(l, "Dockerfile:f:644\nx.log:f:640\n");
    free(l);
    free_got(g, n);
    free(tar);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_round_trip),
        cmocka_unit_test(test_parent_dirs),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_glob),
        cmocka_unit_test(test_dockerignore_rules),
        cmocka_unit_test(test_from_dir),
        cmocka_unit_test(test_from_dir_without_dockerignore),
    };
    return cmocka_run_group_tests_name("tarball", tests, NULL, NULL);
}
