/* Unit tests of a batch's pieces: input expansion (folder, glob, @list,
 * sorting, result names and their clashes), shard slicing (stable, complete,
 * disjoint; Slurm and Kubernetes numbering) and resume records. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inputs.h"
#include "record.h"
#include "shard.h"
#include "testutil.h"

static char dir[256];

static const char *at(const char *name)
{
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void touch(const char *name, const char *text)
{
    FILE *f = fopen(at(name), "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static void expansion(void)
{
    cs_input_list l;
    mkdir(at("in"), 0777);
    mkdir(at("in/sub.png"), 0777); /* a folder named like a picture is not one */
    touch("in/b.jpg", "x");
    touch("in/a.PNG", "x");
    touch("in/c.jpeg", "x");
    touch("in/notes.txt", "x");
    touch("in/.hidden.png", "x");
    CHECK(cs_inputs_is_batch(at("in")), "a folder is a batch");
    CHECK(!cs_inputs_is_batch(at("in/a.PNG")), "a file is not");
    CHECK(cs_inputs_is_batch("@list.txt") && cs_inputs_is_batch(at("in/*.jpg")), "@list and a glob are");
    CHECK_OK(cs_inputs_expand(at("in"), &l));
    CHECK(l.n == 3, "folder: %d pictures, want 3", l.n);
    if (l.n == 3)
        CHECK(!strcmp(l.paths[0], at("in/a.PNG")) && !strcmp(l.paths[1], at("in/b.jpg")) && !strcmp(l.paths[2], at("in/c.jpeg")),
              "folder sorted: %s %s %s", l.paths[0], l.paths[1], l.paths[2]);
    cs_inputs_free(&l);
    CHECK_OK(cs_inputs_expand(at("in/*.*"), &l)); /* a glob takes what it matches, but no folder */
    CHECK(l.n == 4, "glob: %d files, want 4 (no sub.png, no hidden)", l.n);
    cs_inputs_free(&l);
    char list[1200];
    snprintf(list, sizeof list, "# pictures\n%s\n\n  %s  \n%s\n%s\n", at("in/c.jpeg"), at("in/a.PNG"), at("in/c.jpeg"), at("in/gone.png"));
    touch("list.txt", list);
    char spec[600];
    snprintf(spec, sizeof spec, "@%s", at("list.txt"));
    CHECK_OK(cs_inputs_expand(spec, &l));
    CHECK(l.n == 3, "@list: %d paths, want 3 (comment, blank, duplicate dropped; a missing file kept)", l.n);
    if (l.n == 3) CHECK(!strcmp(l.paths[0], at("in/a.PNG")) && !strcmp(l.paths[2], at("in/gone.png")), "@list sorted");
    cs_inputs_free(&l);
    mkdir(at("empty"), 0777);
    CHECK(cs_inputs_expand(at("empty"), &l) == CLSTYLE_ERR_IO && strstr(clstyle_last_error(), "no pictures found"),
          "empty folder: %s", clstyle_last_error());
    CHECK(cs_inputs_expand(at("in/*.gif"), &l) == CLSTYLE_ERR_IO, "a glob matching nothing");
    snprintf(spec, sizeof spec, "@%s", at("nolist.txt"));
    CHECK(cs_inputs_expand(spec, &l) == CLSTYLE_ERR_IO && strstr(clstyle_last_error(), "cannot read the list"),
          "unreadable list: %s", clstyle_last_error());
}

static void names(void)
{
    char a[256], b[256];
    cs_output_name("x/photo.jpg", NULL, 0, a, sizeof a);
    CHECK(!strcmp(a, "photo.jpg"), "the input's format: %s", a);
    cs_output_name("x/photo.jpg", "art/starry_night.png", 1, a, sizeof a);
    CHECK(!strcmp(a, "photo__starry_night.png"), "pair, --format png: %s", a);
    cs_output_name("x/photo.png", NULL, 2, a, sizeof a);
    CHECK(!strcmp(a, "photo.jpg"), "--format jpg: %s", a);
    cs_output_name("x/photo.png", NULL, 1, a, sizeof a);
    cs_output_name("y/photo.jpg", NULL, 1, b, sizeof b);
    CHECK(!strcmp(a, b), "photo.png and photo.jpg clash under one format (the batch refuses it)");
    cs_output_name("x/my.photo.v2.png", NULL, 0, a, sizeof a);
    CHECK(!strcmp(a, "my.photo.v2.png"), "inner dots kept: %s", a);
}

static void shards(void)
{
    enum { N = 103 };
    cs_shard s;
    CHECK(cs_shard_parse("0/4", &s) == CLSTYLE_ERR_USAGE && cs_shard_parse("5/4", &s) == CLSTYLE_ERR_USAGE &&
          cs_shard_parse("1/4x", &s) == CLSTYLE_ERR_USAGE && cs_shard_parse("1/0", &s) == CLSTYLE_ERR_USAGE, "bad K/N refused");
    for (int n = 1; n <= 7; n++) {
        int owner[N], sizes[8] = { 0 };
        for (int i = 0; i < N; i++) owner[i] = 0;
        for (int k = 1; k <= n; k++) {
            s = (cs_shard){ k, n, "test" };
            for (int i = 0; i < N; i++)
                if (cs_shard_has(&s, i)) {
                    owner[i] = owner[i] ? -1 : k;
                    sizes[k]++;
                }
        }
        for (int i = 0; i < N; i++) CHECK(owner[i] > 0, "n=%d: result %d has owner %d (want exactly one)", n, i, owner[i]);
        for (int k = 1; k <= n; k++) CHECK(sizes[k] == N / n || sizes[k] == N / n + 1, "n=%d: slice %d has %d", n, k, sizes[k]);
        s = (cs_shard){ 2 > n ? 1 : 2, n, "test" };
        CHECK(cs_shard_has(&s, 40) == cs_shard_has(&s, 40), "stable");
    }
    cs_shard_env e = { 0 };
    CHECK_OK(cs_shard_resolve(NULL, 0, &e, &s));
    CHECK(s.n == 0 && cs_shard_has(&s, 5), "no shard: the whole batch");
    e = (cs_shard_env){ .slurm_id = "7", .slurm_min = "5", .slurm_count = "4" };
    CHECK_OK(cs_shard_resolve(NULL, 0, &e, &s));
    CHECK(s.k == 3 && s.n == 4, "Slurm 5-8, task 7: %d/%d", s.k, s.n);
    e = (cs_shard_env){ .slurm_id = "4", .slurm_min = "0", .slurm_count = "5", .slurm_step = "2" };
    CHECK_OK(cs_shard_resolve(NULL, 0, &e, &s));
    CHECK(s.k == 3 && s.n == 5, "Slurm 0-8:2, task 4: %d/%d", s.k, s.n);
    e.slurm_id = "3";
    CHECK(cs_shard_resolve(NULL, 0, &e, &s) == CLSTYLE_ERR_USAGE, "Slurm task off the step");
    CHECK_OK(cs_shard_resolve("2/3", 0, &e, &s));
    CHECK(s.k == 2 && s.n == 3, "--shard wins over Slurm");
    e = (cs_shard_env){ .k8s_index = "0" };
    CHECK(cs_shard_resolve(NULL, 0, &e, &s) == CLSTYLE_ERR_USAGE && strstr(clstyle_last_error(), "--shard-count"),
          "a completion index without a count: %s", clstyle_last_error());
    CHECK_OK(cs_shard_resolve(NULL, 4, &e, &s));
    CHECK(s.k == 1 && s.n == 4, "index 0 of 4: %d/%d", s.k, s.n);
    e.count = "2";
    e.k8s_index = "1";
    CHECK_OK(cs_shard_resolve(NULL, 0, &e, &s));
    CHECK(s.k == 2 && s.n == 2, "CLSTYLE_SHARD_COUNT: %d/%d", s.k, s.n);
    e.k8s_index = "2";
    CHECK(cs_shard_resolve(NULL, 0, &e, &s) == CLSTYLE_ERR_USAGE, "index beyond the count");
}

static void records(void)
{
    char key[65], other[65], text[512] = "options";
    const char *out = at("r.png");
    cs_record_key_file(text, sizeof text, at("in/a.PNG"));
    cs_record_key_hash(text, key);
    cs_record_key_hash("other options", other);
    cs_record_info info = { "in/a.PNG", NULL, "pocl", 1.5, 2.5 };
    char rec[600];
    cs_record_path(out, rec, sizeof rec);
    CHECK(!strcmp(rec, at(".r.png.clstyle.json")), "record beside the result: %s", rec);
    CHECK(!cs_record_done(out, key), "nothing written: not done");
    touch("r.png", "result");
    CHECK(!cs_record_done(out, key), "a result without its record is not done");
    CHECK_OK(cs_record_write(out, key, &info));
    CHECK(cs_record_done(out, key), "result and record: done");
    CHECK(!cs_record_done(out, other), "other options: not done");
    touch("r.png", "a longer result");
    CHECK(!cs_record_done(out, key), "a result of another size: not done");
    touch("r.png", "result");
    touch(".r.png.clstyle.json", "{\"clstyle_record\":1,\"key\":");
    CHECK(!cs_record_done(out, key), "a cut record: not done");
    CHECK_OK(cs_record_write(out, key, &info));
    CHECK_OK(cs_record_remove(out));
    CHECK(!cs_record_done(out, key) && access(rec, F_OK) != 0, "removed");
    CHECK_OK(cs_record_remove(out));
    char t2[512] = "options";
    touch("in/a.PNG", "changed");
    cs_record_key_file(t2, sizeof t2, at("in/a.PNG"));
    CHECK(strcmp(text, t2), "an input's new content changes the key");
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/clstyle-test-batch-XXXXXX");
    if (!mkdtemp(dir)) SKIP("no temporary folder");
    expansion();
    names();
    shards();
    records();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
    return tu_done("batch");
}
